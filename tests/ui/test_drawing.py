"""The schedule drawing's geometry (``tocsin.ui.drawing``, pure), property-tested: blocks stay
inside the window and never overlap within a row; the final schedule's row covers the window
exactly (shifts, overrides and gaps end to end); local midnights tick where the clock reads them."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.ui import drawing
from tocsin.ui.drawing import Block, Frame, Shift, us

ZONES = [ZoneInfo(z) for z in ("Etc/UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe",
                               "Asia/Kolkata", "America/Santiago")]
USERS = ["PALICE", "PBOB", "PCY"]
EPS = 1e-9


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    first = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31)))
    return drawing.frame(first, draw(st.integers(1, 4)), draw(st.sampled_from(ZONES)))


def shifts(f: Frame, data: st.DataObject, disjoint: bool) -> list[Shift]:
    """Shifts around the window (some crossing its edges), in minutes from a day before it."""
    span = int((f.until - f.since).total_seconds() // 60) + 2 * 1440
    draw = data.draw
    cuts = sorted(draw(st.lists(st.integers(0, span), max_size=40, unique=True)))
    base = f.since - timedelta(days=1)
    found = []
    if disjoint:  # back to back or apart, as the renderer's rows are
        for lo, hi in zip(cuts[::2], cuts[1::2], strict=False):
            found.append(Shift(base + timedelta(minutes=lo), base + timedelta(minutes=hi),
                               draw(st.sampled_from(USERS))))
    else:
        for lo in cuts:
            length = draw(st.integers(1, 3 * 1440))
            found.append(Shift(base + timedelta(minutes=lo), base + timedelta(minutes=lo + length),
                               draw(st.sampled_from(USERS))))
    return found


def _inside_and_apart(f: Frame, blocks: list[Block]) -> None:
    for b in blocks:
        assert f.lo <= us(b.start) < us(b.end) <= f.hi
        assert b.x >= -EPS and b.width > 0 and b.right <= 100 + EPS
        assert abs(b.x - f.x(b.start)) < EPS and abs(b.right - f.x(b.end)) < 1e-7
        assert us(b.shift_start) <= us(b.start) and us(b.end) <= us(b.shift_end)
    for left, right in itertools.pairwise(blocks):
        assert us(left.end) <= us(right.start) and left.right <= right.x + 1e-7


@settings(max_examples=150, deadline=None)
@given(st.data(), frames(), st.booleans())
def test_a_rows_blocks_stay_inside_the_window_and_never_overlap(data: st.DataObject, f: Frame, disjoint: bool) -> None:
    given_shifts = shifts(f, data, disjoint)
    blocks = drawing.row(f, given_shifts, f.since + (f.until - f.since) / 3)
    _inside_and_apart(f, blocks)
    # Nothing inside the window is lost when the shifts do not overlap.
    if disjoint:
        inside = sum(min(us(s.end), f.hi) - max(us(s.start), f.lo) for s in given_shifts
                     if s.end > f.since and s.start < f.until)
        assert sum(us(b.end) - us(b.start) for b in blocks) == inside


@settings(max_examples=200, deadline=None)
@given(st.data(), frames())
def test_the_final_row_covers_the_window_exactly(data: st.DataObject, f: Frame) -> None:
    final = shifts(f, data, disjoint=True)
    overrides = shifts(f, data, disjoint=False)
    minutes = int((f.until - f.since).total_seconds() // 60)
    now = f.since + timedelta(minutes=data.draw(st.integers(-100, minutes + 100)))
    blocks = drawing.final_row(f, final, overrides, now)
    _inside_and_apart(f, blocks)
    # End to end from since to until: every instant of the window in exactly one block.
    assert blocks and us(blocks[0].start) == f.lo and us(blocks[-1].end) == f.hi
    assert all(us(a.end) == us(b.start) for a, b in itertools.pairwise(blocks))
    assert abs(sum(b.width for b in blocks) - 100) < 1e-6
    # A gap exactly where no shift is; an override block exactly where a shift meets an override.
    for b in blocks:
        mid = b.start + (b.end - b.start) / 2
        who = next((s for s in final if s.start <= mid < s.end), None)
        assert (b.user_id is None) == (who is None) and b.kind == ("gap" if who is None else b.kind)
        if who is not None:
            assert b.user_id == who.user_id
            assert (b.kind == "override") == any(o.start <= mid < o.end for o in overrides)
    # Two neighbours never say the same thing (they would be one block): shifts that do not touch,
    # as the renderer's never do, and touching overrides make one stretch.
    assert all((a.kind, a.user_id) != (b.kind, b.user_id) for a, b in itertools.pairwise(blocks))
    # Only the block holding now is current, and only when someone is on call in it.
    current = [b for b in blocks if b.current]
    assert len(current) <= 1
    if current:
        assert current[0].start <= now < current[0].end and current[0].user_id is not None


@settings(max_examples=100, deadline=None)
@given(frames())
def test_day_ticks_are_the_local_midnights(f: Frame) -> None:
    ticks = drawing.day_ticks(f)
    assert len(ticks) == 7 * f.weeks and ticks[0].x == 0
    for tick, following in itertools.pairwise(ticks):
        assert following.day - tick.day == timedelta(days=1) and tick.x < following.x < 100
    for tick in drawing.hour_ticks(f):
        assert 0 < tick.x < 100 and tick.hour in (6, 12, 18)


def test_a_dst_week_is_drawn_by_real_time() -> None:
    """Paris springs forward on Sun 31 Mar 2024: that day is 23 hours, so its tick sits closer."""
    f = drawing.frame(date(2024, 3, 25), 1, ZoneInfo("Europe/Paris"))
    assert f.until - f.since == timedelta(hours=167)
    xs = [t.x for t in drawing.day_ticks(f)]
    assert xs[6] == 100 * 144 / 167  # six whole 24-hour days before the short Sunday
    assert drawing.wall(datetime(2024, 3, 31, 1, 30, tzinfo=UTC), f.zone) == "Sun 31 Mar 03:30"


def test_labels_fit_or_shrink_to_initials() -> None:
    assert drawing.label("Alice Martin", 20, 1) == "Alice Martin"  # 112 px at its narrowest
    assert drawing.label("Alice Martin", 10, 1) == "AM"  # 56 px
    assert drawing.label("Alice Martin", 1, 4) == ""  # 11 px
    assert drawing.colour("PALICE") == drawing.colour("PALICE") and 0 <= drawing.colour("PBOB") < 8
