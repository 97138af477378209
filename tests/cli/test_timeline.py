"""The terminal drawing of a schedule, checked against schedules worked out by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.cli.timeline import GAP, Shift, draw, pieces


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


ALICE, BOB, CAROL = ("PALICE1", "Alice"), ("PBOB001", "Bob"), ("PCAROL1", "Carol")


def shift(start: datetime, end: datetime, who: tuple[str, str]) -> Shift:
    return Shift(start, end, *who)


# Monday: Alice until 18:00 except Bob's override 09:00-12:00; nobody from 18:00 to Tuesday 06:00;
# Carol until 18:30 Tuesday, then Bob.
FINAL = [
    shift(at(4, 0), at(4, 9), ALICE),
    shift(at(4, 9), at(4, 12), BOB),
    shift(at(4, 12), at(4, 18), ALICE),
    shift(at(5, 6), at(5, 18, 30), CAROL),
    shift(at(5, 18, 30), at(6, 0), BOB),
]
OVERRIDES = [shift(at(4, 9), at(4, 12), BOB)]


def test_a_hand_worked_schedule_in_utc() -> None:
    lines = draw(FINAL, OVERRIDES, at(4, 0), at(6, 0), ZoneInfo("UTC"), cell_minutes=60, title="Schedule 'Web'")
    assert lines == [
        "Schedule 'Web'",
        "Mon 04 Mar 00:00 to Wed 06 Mar 00:00, UTC; one cell = 60 min",
        "            00    06    12    18",
        # 0-8 Alice, 9-11 Bob by override (lower case), 12-17 Alice, 18-23 nobody
        "Mon 04 Mar |AAAAAAAAAbbbAAAAAA......|",
        # 0-5 nobody, 6-17 Carol, 18:00-19:00 half Carol half Bob (a tie: the earlier wins), 19-23 Bob
        "Tue 05 Mar |......CCCCCCCCCCCCCBBBBB|",
        "",
        "  A = Alice",
        "  B = Bob",
        "  C = Carol",
        "  lower case = on call through an override; . = nobody on call",
        "",
        "Shifts (UTC); covered 75.0 %, 1 gap (12 h):",
        "  Mon 04 Mar 00:00 - Mon 04 Mar 09:00  A  Alice",
        "  Mon 04 Mar 09:00 - Mon 04 Mar 12:00  b  Bob (override)",
        "  Mon 04 Mar 12:00 - Mon 04 Mar 18:00  A  Alice",
        "  Mon 04 Mar 18:00 - Tue 05 Mar 06:00  .  nobody on call (gap, 12 h)",
        "  Tue 05 Mar 06:00 - Tue 05 Mar 18:30  C  Carol",
        "  Tue 05 Mar 18:30 - Wed 06 Mar 00:00  B  Bob",
    ]


def test_the_same_schedule_in_another_zone_with_half_hour_cells() -> None:
    # New York is UTC-5 in early March 2024: Monday 00:00 UTC is Sunday 19:00 there. The window
    # starts mid-Sunday, so Sunday's first 19 hours are outside it (blank).
    lines = draw(FINAL, OVERRIDES, at(4, 0), at(6, 0), ZoneInfo("America/New_York"), cell_minutes=30)
    rows = [line for line in lines if "|" in line]
    assert lines[1] == "            00    03    06    09    12    15    18    21"
    assert rows == [
        "Sun 03 Mar |" + " " * 38 + "A" * 10 + "|",  # 19:00-24:00 local: Alice
        # 00:00-04:00 Alice, 04:00-07:00 Bob (override), 07:00-13:00 Alice, 13:00-24:00 nobody
        "Mon 04 Mar |" + "A" * 8 + "b" * 6 + "A" * 12 + GAP * 22 + "|",
        # 00:00-01:00 nobody, 01:00-13:30 Carol, 13:30-19:00 Bob, then outside the window
        "Tue 05 Mar |" + GAP * 2 + "C" * 25 + "B" * 11 + " " * 10 + "|",
    ]
    assert "  Mon 04 Mar 04:00 - Mon 04 Mar 07:00  b  Bob (override)" in lines


def test_a_spring_forward_day_leaves_the_skipped_hour_blank() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # 31 March 2024: 02:00 CET jumps to 03:00 CEST
    since = datetime(2024, 3, 31, tzinfo=berlin)
    until = datetime(2024, 4, 1, tzinfo=berlin)
    assert until.astimezone(UTC) - since.astimezone(UTC) == timedelta(hours=23)
    lines = draw([Shift(since, until, *ALICE)], [], since, until, berlin, cell_minutes=60)
    assert "Sun 31 Mar |AA AAAAAAAAAAAAAAAAAAAAA|" in lines
    assert "Shifts (Europe/Berlin); covered 100.0 %, no gaps:" in lines


def test_a_fall_back_day_counts_the_repeated_hour_in_the_cell_before_the_jump() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # 27 October 2024: 03:00 CEST falls back to 02:00 CET
    since = datetime(2024, 10, 27, tzinfo=berlin)
    until = datetime(2024, 10, 28, tzinfo=berlin)
    change = datetime(2024, 10, 27, 1, 30, tzinfo=UTC)  # 02:30 the second time round (CET)
    final = [Shift(since, change, *ALICE), Shift(change, until, *BOB)]
    lines = draw(final, [], since, until, berlin, cell_minutes=60)
    # The 02:00 cell spans 00:00-02:00 UTC (both 02:00 hours): Alice 1.5 h, Bob 0.5 h.
    assert "Sun 27 Oct |AAABBBBBBBBBBBBBBBBBBBBB|" in lines


def test_overrides_of_someone_else_do_not_mark_the_final_schedule() -> None:
    # An override that the final schedule does not show (a later one beat it) marks nothing.
    cut = pieces([shift(at(4, 0), at(4, 12), ALICE)], [shift(at(4, 2), at(4, 4), BOB)], at(4, 0), at(4, 12))
    assert [(p.user_id, p.override) for p in cut] == [("PALICE1", False)]


def test_more_people_than_letters_share_a_mark() -> None:
    hour = timedelta(hours=1)
    people = [Shift(at(4, 0) + h * hour, at(4, 0) + (h + 1) * hour, f"PUSER{h:03d}", f"User {h}") for h in range(28)]
    lines = draw(people, [], at(4, 0), at(5, 4), ZoneInfo("UTC"), cell_minutes=60)
    assert "Mon 04 Mar |ABCDEFGHIJKLMNOPQRSTUVWX|" in lines
    assert "Tue 05 Mar |YZ##" + " " * 20 + "|" in lines
    assert "  Tue 05 Mar 02:00 - Tue 05 Mar 03:00  #  User 26" in lines


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="divide an hour"):
        draw([], [], at(4, 0), at(5, 0), ZoneInfo("UTC"), cell_minutes=7)
    with pytest.raises(ValueError, match="empty"):
        draw([], [], at(5, 0), at(4, 0), ZoneInfo("UTC"))


shifts = st.lists(st.tuples(st.integers(0, 47), st.integers(1, 12), st.sampled_from([ALICE, BOB, CAROL])),
                  max_size=8)


@given(raw=shifts, cell=st.sampled_from([15, 30, 60]))
def test_every_day_row_has_one_mark_per_cell_and_the_pieces_tile_the_window(
        raw: list[tuple[int, int, tuple[str, str]]], cell: int) -> None:
    final: list[Shift] = []
    for start, length, who in sorted(raw):  # the final schedule never overlaps itself
        begins = max(at(4, 0) + timedelta(hours=start), final[-1].end if final else at(4, 0))
        ends = min(begins + timedelta(hours=length), at(6, 0))
        if ends > begins:
            final.append(Shift(begins, ends, *who))
    cut = pieces(final, [], at(4, 0), at(6, 0))
    assert cut[0].start == at(4, 0) and cut[-1].end == at(6, 0)
    assert all(a.end == b.start and a.key != b.key for a, b in itertools.pairwise(cut))
    rows = [line for line in draw(final, [], at(4, 0), at(6, 0), ZoneInfo("UTC"), cell_minutes=cell) if "|" in line]
    assert len(rows) == 2 and all(len(row.split("|")[1]) == 24 * 60 // cell for row in rows)
    covered = sum((p.end - p.start for p in cut if p.user_id), timedelta(0))
    assert covered == sum((s.end - s.start for s in final), timedelta(0))
