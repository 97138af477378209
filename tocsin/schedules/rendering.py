"""Rendering a schedule's rows: layer versions and overrides -> who is on call, by layer and in
the final schedule, within the budgets one response may spend.

The pure engine (``oncall.render_schedule``) does the work; this module turns rows into its value
types, checks the window and the cost first, and joins each layer's versions back together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tocsin.errors import InvalidInput
from tocsin.schedules.layers import MAX_TURNS, LayerDef, restriction_windows
from tocsin.schedules.model import Entry
from tocsin.schedules.models import ScheduleOverride
from tocsin.schedules.oncall import Override, RenderedSchedule, render_schedule
from tocsin.schedules.zones import zone_info

MAX_WINDOW = timedelta(days=366)
# Rotation turns one request may render across all the schedules it lists (each schedule alone
# is held to MAX_TURNS): about five seconds of rendering, as GET /oncalls allows.
MAX_TOTAL_TURNS = 1_000_000


@dataclass(frozen=True)
class Rendering:
    layers: dict[str, list[Entry]]  # by stable layer id, every version's entries joined
    layer_coverage: dict[str, float]
    result: RenderedSchedule


class TooManyTurns(InvalidInput):
    """The window is valid but would render more rotation turns than one response may hold."""


def check_window(since: datetime, until: datetime) -> None:
    if until < since:
        raise InvalidInput(errors=["since must not be after until"])
    if until - since > MAX_WINDOW:
        raise InvalidInput(errors=[f"The window from since to until may be at most {MAX_WINDOW.days} days"])


def _turns(versions: Sequence[LayerDef], since: datetime, until: datetime) -> int:
    """The rendering's cost: rotation turns plus restriction windows walked through."""
    total = 0
    for v in versions:
        lo = max(since, v.start)
        hi = until if v.end is None else min(until, v.end)
        if hi <= lo or not v.users:
            continue
        if len(v.users) > 1:
            total += int((hi - lo).total_seconds() // v.rotation_turn_length_seconds) + 1
        total += restriction_windows(len(v.restrictions), lo, hi)
    return total


def check_page_turns(schedules: Iterable[Sequence[LayerDef]], since: datetime, until: datetime) -> None:
    """One request renders at most ``MAX_TOTAL_TURNS`` across every schedule it lists; checked
    before any rendering starts."""
    if sum(_turns(versions, since, until) for versions in schedules) > MAX_TOTAL_TURNS:
        raise TooManyTurns(errors=[("until: the schedules on this page hold too many rotation turns in this window; "
                                    "ask for a narrower since/until or a smaller limit")])


def render(
    versions: Sequence[LayerDef], overrides: Sequence[ScheduleOverride], zone: str,
    since: datetime, until: datetime, overflow: bool,
) -> Rendering:
    check_window(since, until)
    if _turns(versions, since, until) > MAX_TURNS:
        raise TooManyTurns(errors=["This window holds too many rotation turns; ask for a shorter one"])
    result = render_schedule(
        [v.engine_layer() for v in versions],
        [Override(o.id, o.start, o.end, o.user_id) for o in overrides],
        zone_info(zone), since, until, overflow,
    )
    joined: dict[str, list[Entry]] = {}
    coverage: dict[str, float] = {}
    for v in versions:
        joined.setdefault(v.layer_id, []).extend(result.layers[v.version_id])
        coverage[v.layer_id] = coverage.get(v.layer_id, 0.0) + result.layer_coverage[v.version_id]
    return Rendering({lid: _merge(entries) for lid, entries in joined.items()}, coverage, result)


def _merge(entries: list[Entry]) -> list[Entry]:
    merged: list[Entry] = []
    for entry in sorted(entries, key=lambda e: (e.start, e.end)):
        if merged and merged[-1].user == entry.user and merged[-1].end >= entry.start:
            merged[-1] = replace(merged[-1], end=max(merged[-1].end, entry.end))
        else:
            merged.append(entry)
    return merged
