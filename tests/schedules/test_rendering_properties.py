"""Properties of schedule rendering, checked on random schedules.

Every instant generated (virtual starts, layer bounds, restriction times, overrides, windows) is
on a 15-minute grid, and the zones used only have offsets and DST shifts in multiples of 15
minutes, so every boundary of every entry lies on that grid too. Checking one instant inside
each 15-minute cell against a brute-force reference therefore checks the whole rendering.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.schedules.oncall import (
    Entry,
    Layer,
    Override,
    RenderedSchedule,
    Restriction,
    render_schedule,
)

QUANTUM = timedelta(minutes=15)
BASE = datetime(2024, 3, 24, tzinfo=UTC)
# Each zone with the DST change near BASE that scenarios in it are drawn around: two
# spring-forward gaps and two fall-back repeats, one of them a 30-minute shift.
CHANGES: dict[str, datetime | None] = {
    "UTC": None,
    "America/New_York": datetime(2024, 3, 10, 7, tzinfo=UTC),  # 02:00 -> 03:00
    "Europe/London": datetime(2024, 3, 31, 1, tzinfo=UTC),  # 01:00 -> 02:00
    "Australia/Lord_Howe": datetime(2024, 4, 6, 15, tzinfo=UTC),  # 02:00 -> 01:30
    "Australia/Adelaide": datetime(2024, 4, 6, 16, 30, tzinfo=UTC),  # 03:00 -> 02:00
}
USERS = ["a", "b", "c", "d"]

Span = tuple[datetime, datetime]

fast = settings(max_examples=150, deadline=None)
slow = settings(max_examples=100, deadline=None)


@dataclass(frozen=True)
class Scenario:
    layers: list[Layer]
    overrides: list[Override]
    tz: str
    span: Span  # the window to render

    @property
    def schedule(self) -> tuple[list[Layer], list[Override], str]:
        return self.layers, self.overrides, self.tz


# Strategies are built once (module constants, or cached per argument), not inside every draw:
# Hypothesis validates each new strategy object when first drawn from, which cost more than the
# rendering under test. The examples drawn are the same either way.


@cache
def grid(low: int, high: int) -> st.SearchStrategy[datetime]:
    return st.integers(low, high).map(lambda k: BASE + k * QUANTUM)


@cache
def moment(change: datetime | None) -> st.SearchStrategy[datetime]:
    """An instant within two weeks of BASE, often in the two days before the zone's DST change."""
    anywhere = grid(-1400, 1400)
    if change is None:
        return anywhere
    return st.one_of(anywhere, st.integers(-200, 50).map(lambda k: change + k * QUANTUM))


@cache
def layer_start(change: datetime | None) -> st.SearchStrategy[datetime]:
    return st.one_of(grid(-5000, -1400), moment(change))


SMALL_HOURS_OR_ANY = st.one_of(st.integers(0, 23), st.integers(0, 3))
QUARTERS = st.sampled_from([0, 15, 30, 45])


@st.composite
def restrictions(draw: st.DrawFn) -> Restriction:
    # Half the time start in the small hours, where DST gaps and repeats are.
    hour = draw(SMALL_HOURS_OR_ANY)
    start = time(hour, draw(QUARTERS))
    if draw(st.booleans()):
        return Restriction.daily(start, draw(st.integers(0, 96)) * 900)
    return Restriction.weekly(draw(st.integers(1, 7)), start, draw(st.integers(0, 7 * 96)) * 900)


RESTRICTIONS = st.lists(restrictions(), max_size=2)
EMPTY = st.sampled_from([False] * 9 + [True])  # integers would favour the edge 0
LAYER_USERS = st.lists(st.sampled_from(USERS), min_size=1, max_size=4)
TURN_QUARTERS = st.one_of(st.integers(1, 32), st.integers(1, 4 * 72))


@st.composite
def layers(draw: st.DrawFn, index: int, change: datetime | None) -> Layer:
    # Mostly layers already running when the window opens, with several users and turns shorter
    # than the window, so that renderings have many entries; the other shapes still occur.
    start = draw(layer_start(change))
    end = draw(st.one_of(st.none(), st.integers(1, 3000).map(lambda k: start + k * QUANTUM)))
    empty = draw(EMPTY)
    users = () if empty else tuple(draw(LAYER_USERS))
    return Layer(
        id=f"L{index}",
        start=start,
        end=end,
        users=users,
        rotation_virtual_start=draw(grid(-5000, 5000)),
        rotation_turn_length_seconds=draw(TURN_QUARTERS) * 900,
        restrictions=tuple(draw(RESTRICTIONS)),
    )


ZONES = st.sampled_from(list(CHANGES))
OVERRIDE_USERS = st.sampled_from([*USERS, "z"])


@cache
def lengths(longest: int) -> st.SearchStrategy[int]:
    return st.one_of(st.integers(1, longest), st.integers(longest // 2, longest))


@st.composite
def scenarios(draw: st.DrawFn, longest: int = 300) -> Scenario:
    tz = draw(ZONES)
    change = CHANGES[tz]
    drawn_layers = [draw(layers(i, change)) for i in range(draw(st.integers(0, 4)))]
    overrides = []
    for i in range(draw(st.integers(0, 5))):
        start = draw(moment(change))
        end = start + draw(st.integers(1, 200)) * QUANTUM
        overrides.append(Override(f"O{i}", start, end, draw(OVERRIDE_USERS)))
    since = draw(moment(change))
    length = draw(lengths(longest))
    return Scenario(drawn_layers, overrides, tz, (since, since + length * QUANTUM))


# -- helpers ---------------------------------------------------------------------------------


def spans(entries: list[Entry]) -> list[Span]:
    """Union of the entries' intervals, touching intervals joined."""
    out: list[Span] = []
    for start, end in sorted((x.start, x.end) for x in entries):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def clip(entries: list[Entry], lo: datetime, hi: datetime) -> list[Entry]:
    return [
        Entry(max(x.start, lo), min(x.end, hi), x.user)
        for x in entries
        if x.start < hi and x.end > lo
    ]


def merged(entries: list[Entry]) -> list[Entry]:
    out: list[Entry] = []
    for x in entries:
        if out and out[-1].user == x.user and out[-1].end == x.start:
            out[-1] = Entry(out[-1].start, x.end, x.user)
        else:
            out.append(x)
    return out


def user_at(entries: list[Entry], at: datetime) -> str | None:
    i = bisect_right([x.start for x in entries], at) - 1
    return entries[i].user if i >= 0 and at < entries[i].end else None


def all_lists(result: RenderedSchedule) -> list[list[Entry]]:
    return [*result.layers.values(), result.overrides, result.final]


# -- brute-force reference -------------------------------------------------------------------


def in_restriction(restriction: Restriction, zone: ZoneInfo, at: datetime) -> bool:
    """Directly from the definition: local wall start and wall end converted with fold=0."""
    today = at.astimezone(zone).date()
    for back in range(9):
        day = today - timedelta(days=back)
        if (
            restriction.type == "weekly_restriction"
            and day.isoweekday() != restriction.start_day_of_week
        ):
            continue
        wall_start = datetime.combine(day, restriction.start_time_of_day)
        wall_end = wall_start + timedelta(seconds=restriction.duration_seconds)
        # Compare in UTC: aware datetimes sharing a tzinfo compare by wall time.
        start = wall_start.replace(tzinfo=zone).astimezone(UTC)
        end = wall_end.replace(tzinfo=zone).astimezone(UTC)
        if start <= at < end:
            return True
    return False


def reference_layer(layer: Layer, zone: ZoneInfo, at: datetime) -> str | None:
    if not layer.users or at < layer.start or (layer.end is not None and at >= layer.end):
        return None
    if layer.restrictions and not any(in_restriction(r, zone, at) for r in layer.restrictions):
        return None
    turn = (at - layer.rotation_virtual_start) // timedelta(
        seconds=layer.rotation_turn_length_seconds
    )
    return layer.users[turn % len(layer.users)]


def reference_final(
    drawn_layers: list[Layer], overrides: list[Override], zone: ZoneInfo, at: datetime
) -> str | None:
    for override in reversed(overrides):
        if override.start <= at < override.end:
            return override.user
    for layer in reversed(drawn_layers):
        user = reference_layer(layer, zone, at)
        if user is not None:
            return user
    return None


# -- properties ------------------------------------------------------------------------------


@slow
@given(scenarios(longest=200))
def test_matches_brute_force_reference_everywhere(case: Scenario) -> None:
    result = render_schedule(*case.schedule, *case.span)
    zone = ZoneInfo(case.tz)
    for entries in all_lists(result):
        for x in entries:  # every boundary on the grid, so one probe per cell suffices
            assert (x.start - BASE) % QUANTUM == timedelta(0)
            assert (x.end - BASE) % QUANTUM == timedelta(0)
    cell, until = case.span
    while cell < until:
        probe = cell + QUANTUM / 2
        assert user_at(result.final, probe) == reference_final(
            case.layers, case.overrides, zone, probe
        ), probe
        for layer in case.layers:
            assert user_at(result.layers[layer.id], probe) == reference_layer(layer, zone, probe), (
                layer.id,
                probe,
            )
        cell += QUANTUM


@fast
@given(scenarios())
def test_entries_are_sorted_disjoint_merged_and_inside_the_window(case: Scenario) -> None:
    result = render_schedule(*case.schedule, *case.span)
    for entries in all_lists(result):
        assert entries == merged(entries)
        for x in entries:
            assert case.span[0] <= x.start < x.end <= case.span[1]
            assert x.start.tzinfo is UTC and x.end.tzinfo is UTC
        for before, after in pairwise(entries):
            assert before.end <= after.start


@fast
@given(scenarios())
def test_final_covers_exactly_the_union_of_layers_and_overrides(case: Scenario) -> None:
    result = render_schedule(*case.schedule, *case.span)
    contributions = [x for entries in result.layers.values() for x in entries]
    raw_overrides = clip([Entry(o.start, o.end, o.user) for o in case.overrides], *case.span)
    assert spans(result.final) == spans(contributions + raw_overrides)
    assert spans(result.overrides) == spans(raw_overrides)
    width = case.span[1] - case.span[0]
    covered = sum((x.end - x.start for x in result.final), timedelta())
    assert abs(result.final_coverage - 100 * (covered / width)) < 1e-9
    gap_time = sum((end - start for start, end in result.gaps), timedelta())
    assert covered + gap_time == width
    assert spans(result.final + [Entry(s, e, "gap") for s, e in result.gaps]) == [case.span]


@fast
@given(scenarios())
def test_an_override_always_wins_for_its_interval(case: Scenario) -> None:
    result = render_schedule(*case.schedule, *case.span)
    for index, override in enumerate(case.overrides):
        later = [Entry(o.start, o.end, o.user) for o in case.overrides[index + 1 :]]
        mine = clip([Entry(override.start, override.end, override.user)], *case.span)
        # Where no later override competes, the final schedule is this override's user, throughout.
        for start, end in _minus(spans(mine), spans(later)):
            assert clip(result.final, start, end) == [Entry(start, end, override.user)]


def _minus(base: list[Span], cut: list[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in base:
        cursor = start
        for c_start, c_end in cut:
            if c_end <= cursor or c_start >= end:
                continue
            if c_start > cursor:
                out.append((cursor, c_start))
            cursor = max(cursor, c_end)
        if cursor < end:
            out.append((cursor, end))
    return out


@fast
@given(scenarios(), st.integers(0, 300))
def test_splitting_the_window_changes_nothing(case: Scenario, cut: int) -> None:
    a, c = case.span
    b = min(a + cut * QUANTUM, c)
    whole = render_schedule(*case.schedule, a, c)
    first = render_schedule(*case.schedule, a, b)
    second = render_schedule(*case.schedule, b, c)
    for joined, one, two in zip(all_lists(whole), all_lists(first), all_lists(second), strict=True):
        assert joined == merged(one + two)
    assert whole.gaps == _join_gaps(first.gaps + second.gaps)


def _join_gaps(gaps: list[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in gaps:
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


@fast
@given(scenarios(), st.integers(-300, 300), st.integers(-300, 300))
def test_shifting_the_window_keeps_entries_inside_it(
    case: Scenario, move_start: int, move_end: int
) -> None:
    one = case.span
    two = (one[0] + move_start * QUANTUM, one[1] + move_end * QUANTUM)
    lo, hi = max(one[0], two[0]), min(one[1], two[1])
    if lo >= hi:
        return  # the windows do not overlap: nothing to compare
    first = render_schedule(*case.schedule, *one)
    second = render_schedule(*case.schedule, *two)
    for x, y in zip(all_lists(first), all_lists(second), strict=True):
        assert clip(x, lo, hi) == clip(y, lo, hi)


@fast
@given(scenarios(longest=100))
def test_overflow_returns_whole_shifts(case: Scenario) -> None:
    span = case.span
    plain = render_schedule(*case.schedule, *span)
    whole = render_schedule(*case.schedule, *span, overflow=True)
    # Same coverage figures; clipping the overflowing entries gives the plain ones back.
    assert (whole.final_coverage, whole.layer_coverage, whole.gaps) == (
        plain.final_coverage,
        plain.layer_coverage,
        plain.gaps,
    )
    for x, y in zip(all_lists(whole), all_lists(plain), strict=True):
        assert clip(x, *span) == y
    # A wider plain rendering shows each shift's true extent, unless the shift is still running
    # at the wide rendering's edge; then overflow must carry it at least that far.
    margin = timedelta(days=10)
    wide_lo, wide_hi = span[0] - margin, span[1] + margin
    wide = render_schedule(*case.schedule, wide_lo, wide_hi)
    for x, y in zip(all_lists(whole), all_lists(wide), strict=True):
        expected = [e for e in y if e.start < span[1] and e.end > span[0]]
        assert [e.user for e in x] == [e.user for e in expected]
        for got, want in zip(x, expected, strict=True):
            assert got.start == want.start if want.start > wide_lo else got.start <= wide_lo
            assert got.end == want.end if want.end < wide_hi else got.end >= wide_hi


def test_reference_restriction_check() -> None:
    # A sanity check of the reference: 2024-03-10 is a Sunday in New York.
    weekly = Restriction.weekly(7, time(9), 3600)
    zone = ZoneInfo("America/New_York")
    assert date(2024, 3, 10).isoweekday() == 7
    assert in_restriction(weekly, zone, datetime(2024, 3, 10, 13, 30, tzinfo=UTC))  # 09:30 EDT
    assert not in_restriction(weekly, zone, datetime(2024, 3, 10, 14, 30, tzinfo=UTC))
