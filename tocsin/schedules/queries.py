"""Read helpers other domains may use (the schedules domain's public surface).

Escalation policies target schedules: they need to know which schedules exist, their names, and
who is on call in them. ``on_call_sources`` loads everything the pure engine needs for many
schedules in a constant number of queries; ``shift_at`` / ``shifts_between`` / ``gaps_between``
run the engine (``tocsin.schedules.oncall``) on what was loaded, so callers never touch the
engine's value types or this domain's rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.errors import InvalidInput
from tocsin.schedules.layers import MAX_TURNS, layer_versions, restriction_windows
from tocsin.schedules.model import Entry, Layer, Override
from tocsin.schedules.models import Schedule, ScheduleOverride
from tocsin.schedules.oncall import OVERFLOW_HORIZON, on_call_entry_at, render_schedule
from tocsin.schedules.zone_names import ACTIVE_SUPPORT_ZONES

__all__ = [
    "Entry",
    "OnCallSource",
    "existing_schedule_ids",
    "gaps_between",
    "live_schedules",
    "on_call_sources",
    "schedule_refs",
    "shift_at",
    "shifts_between",
    "turns_between",
]


async def existing_schedule_ids(session: AsyncSession, ids: Iterable[str]) -> set[str]:
    """The ids among ``ids`` naming live (not deleted) schedules."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    rows = await session.execute(
        select(Schedule.id).where(Schedule.id.in_(wanted), Schedule.deleted_at.is_(None))
    )
    return set(rows.scalars())


async def live_schedules(session: AsyncSession) -> list[Schedule]:
    """Every schedule not deleted, by name (the web UI's list)."""
    rows = await session.execute(select(Schedule).where(Schedule.deleted_at.is_(None))
                                 .order_by(Schedule.name, Schedule.id))
    return list(rows.scalars())


async def schedule_refs(session: AsyncSession, ids: Iterable[str]) -> dict[str, str]:
    """Names by id, deleted schedules included (references to them still render)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Schedule.id, Schedule.name).where(Schedule.id.in_(wanted)))
    return dict(rows.all())


@dataclass(frozen=True)
class OnCallSource:
    """One schedule as the on-call engine needs it."""

    id: str
    name: str
    time_zone: str  # IANA
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...]


async def on_call_sources(
    session: AsyncSession, ids: Iterable[str], since: datetime, until: datetime
) -> dict[str, OnCallSource]:
    """Live schedules among ``ids`` with their layers and the overrides that can matter in
    [since, until] (overflowing shifts reach up to the engine's horizon beyond either edge).
    Three queries whatever the number of schedules."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    schedules = list((await session.execute(
        select(Schedule).where(Schedule.id.in_(wanted), Schedule.deleted_at.is_(None))
    )).scalars())
    live = [s.id for s in schedules]
    versions = await layer_versions(session, live)
    overrides: dict[str, list[Override]] = {sid: [] for sid in live}
    if live:
        rows = await session.execute(
            select(ScheduleOverride)
            .where(
                ScheduleOverride.schedule_id.in_(live),
                ScheduleOverride.end > since - OVERFLOW_HORIZON,
                ScheduleOverride.start < until + OVERFLOW_HORIZON,
            )
            .order_by(ScheduleOverride.created_at, ScheduleOverride.id)  # later ones win overlaps
        )
        for row in rows.scalars():
            overrides[row.schedule_id].append(Override(row.id, row.start, row.end, row.user_id))
    return {
        s.id: OnCallSource(
            id=s.id, name=s.name, time_zone=ACTIVE_SUPPORT_ZONES.get(s.time_zone, s.time_zone),
            layers=tuple(v.engine_layer() for v in versions[s.id]),
            overrides=tuple(overrides[s.id]),
        )
        for s in schedules
    }


def shift_at(source: OnCallSource, at: datetime) -> Entry | None:
    """The whole final-schedule shift containing ``at`` (None: nobody is on call then)."""
    return on_call_entry_at(source.layers, source.overrides, source.time_zone, at)


def turns_between(source: OnCallSource, since: datetime, until: datetime) -> int:
    """How many rotation turns and restriction windows rendering [since, until) walks through
    (the cost of rendering)."""
    total = 0
    for layer in source.layers:
        lo = max(since, layer.start)
        hi = until if layer.end is None else min(until, layer.end)
        if hi <= lo or not layer.users:
            continue
        if len(layer.users) > 1:
            total += int((hi - lo).total_seconds() // layer.rotation_turn_length_seconds) + 1
        total += restriction_windows(len(layer.restrictions), lo, hi)
    return total


def shifts_between(source: OnCallSource, since: datetime, until: datetime) -> list[Entry]:
    """Final-schedule shifts overlapping [since, until), each whole (not clipped to the window)."""
    if until <= since:
        shift = shift_at(source, since)
        return [shift] if shift is not None else []
    if turns_between(source, since, until) > MAX_TURNS:
        raise InvalidInput(errors=[(f"until: schedule {source.id} has too many rotation turns in this window; "
                                    "ask for a shorter one")])
    return render_schedule(source.layers, source.overrides, source.time_zone, since, until, overflow=True).final


def gaps_between(
    source: OnCallSource, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]] | None:
    """The stretches of [since, until) when nobody is on call in the final schedule; None when
    the window holds too many rotation turns to render cheaply (a pathological rotation)."""
    if turns_between(source, since, until) > MAX_TURNS:
        return None
    return render_schedule(source.layers, source.overrides, source.time_zone, since, until).gaps
