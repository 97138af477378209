"""Who is on call: pure rendering of PagerDuty v2 schedules (no I/O, no database).

The rules below are PagerDuty's as Tocsin implements them; tests/schedules holds worked examples.

Rotation
    A layer's turns are fixed-length intervals of ``rotation_turn_length_seconds`` *absolute*
    (UTC) seconds counted from ``rotation_virtual_start``; turn ``k`` belongs to
    ``users[k mod len(users)]``, with ``k`` negative before the virtual start. The layer is
    active on ``[start, end)`` (``end=None``: forever). Because turn lengths are real seconds,
    a 24-hour rotation that hands off at 09:00 local before a DST change hands off at 10:00
    local after spring-forward and at 08:00 local after fall-back (in a zone whose DST shift
    is 30 minutes, e.g. Australia/Lord_Howe, by 30 minutes).

Restrictions
    Evaluated in the schedule's time zone on the *local wall clock*: a daily restriction
    ``09:00:00`` for 28800 s is 09:00-17:00 local every day, on both sides of a DST change.
    Each window's start and end are local wall times (``day + start_time_of_day`` and that plus
    ``duration_seconds`` on the wall clock) converted to UTC, so on a transition day the window
    is 8 wall-clock hours but 7 or 9 real hours. Nonexistent wall times (spring-forward gap)
    move forward by the gap (``fold=0``: 02:30 becomes 03:30 on a one-hour gap); ambiguous wall
    times (fall-back repeat) mean their first occurrence. So a window starting in a gap and
    ending less than the gap's length later (wall clock) is empty that day. Weekly
    restrictions start on ``start_day_of_week`` (1=Monday .. 7=Sunday) and may last up to a
    week; windows may cross midnight or the week boundary. Several restrictions on one layer
    are united. With restrictions, the user whose turn it is is on call only inside the
    windows: the layer's entries are the turns intersected with the windows.

Precedence
    Later layers beat earlier ones wherever they have someone on call; overrides beat every
    layer; among overlapping overrides the later one in the list (created later) wins.

Output
    Entries are half-open ``[start, end)`` in UTC, adjacent entries of one user merged. They
    are clipped to ``[since, until)`` unless ``overflow=True``, in which case entries crossing
    the window edges are returned whole - extended up to ``OVERFLOW_HORIZON`` beyond the edge,
    where an endless shift (say, a one-person layer) is cut. Each probe beyond an edge may walk
    through at most ``PROBE_TURN_BUDGET`` rotation turns and restriction windows, so a dense
    rotation (one-second turns) beneath a long shift cuts that shift at the budget instead of
    rendering millions of turns. Coverage percentages and gaps always describe the clipped window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .final import Timeline, flatten
from .model import (
    Entry,
    InvalidSchedule,
    Layer,
    Override,
    RenderedSchedule,
    Restriction,
    require_aware,
)
from .restrictions import LocalClock
from .rotation import CompiledLayer, layer_pieces
from .timeline import (
    US_PER_DAY,
    DatetimeCache,
    Piece,
    complement,
    merge_adjacent,
    to_us,
    total_length,
)

__all__ = [
    "OVERFLOW_HORIZON",
    "PROBE_TURN_BUDGET",
    "Entry",
    "InvalidSchedule",
    "Layer",
    "Override",
    "RenderedSchedule",
    "Restriction",
    "on_call_at",
    "on_call_entry_at",
    "render_schedule",
]

OVERFLOW_HORIZON = timedelta(days=366)
_HORIZON_US = OVERFLOW_HORIZON // timedelta(microseconds=1)
_GROWTH = 4  # each overflow probe reaches 4x further: few re-renders, little wasted work
# Rotation turns plus restriction windows one overflow probe may render: a few tenths of a second.
PROBE_TURN_BUDGET = 25_000


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything about one schedule that does not depend on the window being rendered."""

    layers: tuple[CompiledLayer, ...]
    overrides: tuple[Piece, ...]  # in creation order; empty intervals dropped
    clocks: tuple[LocalClock, ...]  # one per layer: its own zone, or the schedule's
    first_reach: int  # how far past an edge the first overflow probe looks

    @classmethod
    def of(cls, layers: Sequence[Layer], overrides: Sequence[Override], tz: str | tzinfo) -> _Plan:
        compiled = tuple(CompiledLayer.of(layer) for layer in layers)
        if len({layer.id for layer in compiled}) != len(compiled):
            raise InvalidSchedule("layer ids must be unique")
        pieces = tuple((to_us(o.start), to_us(o.end), o.user) for o in overrides if o.end > o.start)
        longest = max(
            [US_PER_DAY]
            + [layer.turn for layer in compiled if layer.users]
            + [end - start for start, end, _ in pieces]
        )
        schedule_clock = LocalClock(_zone(tz))
        clocks: dict[str, LocalClock] = {}  # layers sharing a zone share its memo
        for layer in layers:
            if layer.time_zone is not None and layer.time_zone not in clocks:
                clocks[layer.time_zone] = LocalClock(_zone(layer.time_zone))
        per_layer = tuple(
            schedule_clock if layer.time_zone is None else clocks[layer.time_zone] for layer in layers
        )
        return cls(compiled, pieces, per_layer, min(longest, _HORIZON_US))

    def cost(self, lo: int, hi: int) -> int:
        """About how many turns and restriction windows rendering [lo, hi) walks through."""
        total = 0
        for layer in self.layers:
            start, end = max(lo, layer.start), min(hi, layer.end)
            if start >= end or not layer.users:
                continue
            if len(layer.users) > 1:
                total += (end - start) // layer.turn + 1
            if layer.restrictions:
                total += len(layer.restrictions) * ((end - start) // US_PER_DAY + 2)
        return total

    def render(self, lo: int, hi: int) -> Timeline:
        layers = [
            layer_pieces(layer, clock, lo, hi) for layer, clock in zip(self.layers, self.clocks, strict=True)
        ]
        overrides = [
            (max(start, lo), min(end, hi), user)
            for start, end, user in self.overrides
            if start < hi and end > lo
        ]
        return flatten(layers, overrides)


def render_schedule(
    layers: Sequence[Layer],
    overrides: Sequence[Override],
    tz: str | tzinfo,
    since: datetime,
    until: datetime,
    overflow: bool = False,
) -> RenderedSchedule:
    """Every layer, the effective overrides and the final schedule over [since, until)."""
    require_aware("since", since)
    require_aware("until", until)
    plan = _Plan.of(layers, overrides, tz)
    lo, hi = to_us(since), to_us(until)
    if lo >= hi:
        return _empty(plan, since, until)
    core = plan.render(lo, hi)
    shown = _overflow(plan, core, lo, hi) if overflow else core
    width = hi - lo
    as_dt = DatetimeCache()
    return RenderedSchedule(
        since=since,
        until=until,
        layers={
            layer.id: _entries(pieces, as_dt)
            for layer, pieces in zip(plan.layers, shown.layers, strict=True)
        },
        layer_coverage={
            layer.id: _percent(total_length(_spans(pieces), lo, hi), width)
            for layer, pieces in zip(plan.layers, core.layers, strict=True)
        },
        overrides=_entries(shown.overrides, as_dt),
        overrides_coverage=_percent(total_length(_spans(core.overrides), lo, hi), width),
        final=_entries(shown.final, as_dt),
        final_coverage=_percent(total_length(core.covered, lo, hi), width),
        gaps=[(as_dt(start), as_dt(end)) for start, end in complement(core.covered, lo, hi)],
    )


def on_call_at(
    layers: Sequence[Layer], overrides: Sequence[Override], tz: str | tzinfo, at: datetime
) -> str | None:
    """The user on call in the final schedule at instant ``at``, or ``None`` in a gap."""
    require_aware("at", at)
    instant = to_us(at)
    final = _Plan.of(layers, overrides, tz).render(instant, instant + 1).final
    return final[0][2] if final else None


def on_call_entry_at(
    layers: Sequence[Layer], overrides: Sequence[Override], tz: str | tzinfo, at: datetime
) -> Entry | None:
    """The whole final-schedule shift containing ``at`` (what ``GET /oncalls`` reports)."""
    require_aware("at", at)
    plan = _Plan.of(layers, overrides, tz)
    instant = to_us(at)
    core = plan.render(instant, instant + 1)
    if not core.final:
        return None
    start, end, user = _overflow(plan, core, instant, instant + 1).final[0]
    as_dt = DatetimeCache()
    return Entry(as_dt(start), as_dt(end), user)


def _overflow(plan: _Plan, core: Timeline, lo: int, hi: int) -> Timeline:
    """``core`` with the entries that cross ``lo`` or ``hi`` restored to their full length.

    Rendering is local (each instant's user depends only on that instant), so rendering the
    neighbouring ranges separately and joining same-user pieces at the seam gives exactly what
    one big rendering would.
    """
    before = _probe(plan, core, lo, toward_past=True)
    after = _probe(plan, core, hi, toward_past=False)

    def join(left: list[Piece], middle: list[Piece], right: list[Piece]) -> list[Piece]:
        return [p for p in merge_adjacent(left + middle + right) if p[1] > lo and p[0] < hi]

    parts = zip(_lists(before), _lists(core), _lists(after), strict=True)
    joined = [join(left, middle, right) for left, middle, right in parts]
    return Timeline(
        layers=joined[:-2], overrides=joined[-2], final=joined[-1], covered=core.covered
    )


def _probe(plan: _Plan, core: Timeline, edge: int, toward_past: bool) -> Timeline:
    """Render beyond ``edge`` until every shift crossing it ends inside the rendering.

    Starts one turn (or override) length out and grows geometrically, stopping at the horizon
    or where rendering further would exceed ``PROBE_TURN_BUDGET`` (the shift is cut there).
    """
    inside = _lists(core)
    if not any(_touches(pieces, edge, toward_past) for pieces in inside):
        # No entry reaches the edge, so nothing beyond it can join one.
        return Timeline(layers=[[] for _ in core.layers], overrides=[], final=[], covered=[])
    def span(reach: int) -> tuple[int, int]:
        return (edge - reach, edge) if toward_past else (edge, edge + reach)

    reach = plan.first_reach
    capped = False  # the budget, not the horizon, limits this probe: it is the last one
    while reach > 1 and plan.cost(*span(reach)) > PROBE_TURN_BUDGET:
        reach //= 2
        capped = True
    while True:
        lo, hi = span(reach)
        probe = plan.render(lo, hi)
        far_edge = lo if toward_past else hi
        continuing = (
            _touches(mine, edge, toward_past)
            and _continues(mine, beyond, edge, far_edge, toward_past)
            for mine, beyond in zip(inside, _lists(probe), strict=True)
        )
        if capped or reach >= _HORIZON_US or not any(continuing):
            return probe  # capped: too dense to look further, the shift is cut here
        further = min(reach * _GROWTH, _HORIZON_US)
        while further > reach and plan.cost(*span(further)) > PROBE_TURN_BUDGET:
            further = reach + (further - reach) // 2
            capped = True
        if further <= reach:
            return probe
        reach = further


def _lists(timeline: Timeline) -> list[list[Piece]]:
    """Every sub-schedule: each layer, then the overrides, then the final schedule."""
    return [*timeline.layers, timeline.overrides, timeline.final]


def _touches(pieces: list[Piece], edge: int, toward_past: bool) -> bool:
    if not pieces:
        return False
    return pieces[0][0] == edge if toward_past else pieces[-1][1] == edge


def _continues(
    mine: list[Piece], beyond: list[Piece], edge: int, far_edge: int, toward_past: bool
) -> bool:
    """Does the shift at ``edge`` carry on, same user, through all of ``beyond``?"""
    if not beyond:
        return False
    if toward_past:
        near, far = beyond[-1], mine[0]
        return near[1] == edge and near[2] == far[2] and near[0] == far_edge
    near, far = beyond[0], mine[-1]
    return near[0] == edge and near[2] == far[2] and near[1] == far_edge


def _zone(tz: str | tzinfo) -> tzinfo:
    if not isinstance(tz, str):
        return tz
    try:
        return ZoneInfo(tz)
    # ValueError: malformed keys like "../x"; OSError: a name too long for a file path
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise InvalidSchedule(f"unknown time zone {tz!r}") from error


def _entries(pieces: list[Piece], as_dt: DatetimeCache) -> list[Entry]:
    return [Entry(as_dt(start), as_dt(end), user) for start, end, user in pieces]


def _spans(pieces: list[Piece]) -> list[tuple[int, int]]:
    return [(start, end) for start, end, _ in pieces]


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


def _empty(plan: _Plan, since: datetime, until: datetime) -> RenderedSchedule:
    return RenderedSchedule(
        since=since,
        until=until,
        layers={layer.id: [] for layer in plan.layers},
        layer_coverage={layer.id: 0.0 for layer in plan.layers},
        overrides=[],
        overrides_coverage=0.0,
        final=[],
        final_coverage=0.0,
        gaps=[],
    )
