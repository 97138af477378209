"""Schedule changes, in the caller's transaction, and the reads they share with the routes.

Layers keep their history: an edit never rewrites what was on call before it (see ``models``).
Rendering is ``tocsin.schedules.rendering``; overrides are ``tocsin.schedules.override_logic``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.auth.models import User
from tocsin.db.links import linked
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.http.wiring import Wiring
from tocsin.ids import new_id
from tocsin.schedules.audit import schedule_snapshot
from tocsin.schedules.layers import (
    LayerDef,
    layer_def,
    layer_versions,
    row_def,
    version_rows,
)
from tocsin.schedules.models import (
    Schedule,
    ScheduleLayer,
    ScheduleLayerUser,
    ScheduleOverride,
    ScheduleTeam,
)
from tocsin.schedules.schemas import LayerIn, ScheduleCreate, ScheduleFields, TeamIn
from tocsin.schedules.zones import iana_name, zone_info
from tocsin.teams.queries import existing_team_ids, team_refs

# --- reading ---------------------------------------------------------------------------------

async def get_schedule(session: AsyncSession, schedule_id: str) -> Schedule:
    schedule = await session.get(Schedule, schedule_id)
    if schedule is None or schedule.deleted_at is not None:
        raise NotFound(f"Schedule {schedule_id} not found", errors=["Schedule not found"])
    return schedule


async def overrides_in(
    session: AsyncSession, schedule_id: str, since: datetime | None = None, until: datetime | None = None
) -> list[ScheduleOverride]:
    """Overrides overlapping [since, until), in creation order (a later one wins an overlap)."""
    query = select(ScheduleOverride).where(ScheduleOverride.schedule_id == schedule_id)
    if since is not None:
        query = query.where(ScheduleOverride.end > since)
    if until is not None:
        query = query.where(ScheduleOverride.start < until)
    return list((await session.execute(query.order_by(ScheduleOverride.created_at, ScheduleOverride.id))).scalars())


async def users_by_id(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, User]:
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    rows = await session.execute(select(User).where(User.id.in_(wanted)))
    return {user.id: user for user in rows.scalars()}


async def missing_users(session: AsyncSession, fields: list[tuple[str, str]]) -> list[str]:
    known = await users_by_id(session, [user_id for _, user_id in fields])
    return [f"{field}: user {user_id} not found" for field, user_id in fields if user_id not in known]


async def require_users(session: AsyncSession, fields: list[tuple[str, str]]) -> None:
    """``fields`` holds (field path, user id); unknown ids are a 400 naming each field."""
    if missing := await missing_users(session, fields):
        raise InvalidInput(errors=missing)


async def _missing_teams(session: AsyncSession, prefix: str, teams: Sequence[TeamIn]) -> list[str]:
    known = await existing_team_ids(session, [t.id for t in teams])
    return [f"{prefix}.teams[{i}].id: team {t.id} not found" for i, t in enumerate(teams) if t.id not in known]


async def _require_references(
    session: AsyncSession, prefix: str, layers: Sequence[LayerIn] | None, teams: Sequence[TeamIn] | None
) -> None:
    """Every user of ``layers`` and every team must exist: one 400 naming each unknown field."""
    missing = await missing_users(session, _layer_user_fields(prefix, layers or []))
    missing += await _missing_teams(session, prefix, teams or [])
    if missing:
        raise InvalidInput(errors=missing)


async def teams_of(session: AsyncSession, schedule_ids: Sequence[str]) -> dict[str, list[str]]:
    """The team ids linked to each schedule (deleted teams included), sorted."""
    return await linked(session, ScheduleTeam.schedule_id, ScheduleTeam.team_id, schedule_ids)


async def team_references(session: AsyncSession, schedule_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Each schedule's live teams as (id, name), by name; a deleted team is no longer shown."""
    linked = await teams_of(session, schedule_ids)
    names = await team_refs(session, {t for ids in linked.values() for t in ids})
    return {
        sid: sorted(((t, names[t]) for t in ids if t in names), key=lambda ref: (ref[1], ref[0]))
        for sid, ids in linked.items()
    }


async def _write_teams(session: AsyncSession, schedule_id: str, team_ids: Iterable[str]) -> None:
    await session.execute(delete(ScheduleTeam).where(ScheduleTeam.schedule_id == schedule_id))
    for team_id in dict.fromkeys(team_ids):
        session.add(ScheduleTeam(schedule_id=schedule_id, team_id=team_id))


def _layer_user_fields(prefix: str, layers: Sequence[LayerIn]) -> list[tuple[str, str]]:
    return [
        (f"{prefix}.schedule_layers[{i}].users[{j}].user.id", u.user.id)
        for i, layer in enumerate(layers)
        for j, u in enumerate(layer.users)
    ]


# --- writing ---------------------------------------------------------------------------------

def _add_version(session: AsyncSession, schedule_id: str, layer: LayerDef, now: datetime) -> None:
    session.add(ScheduleLayer(
        id=layer.version_id, layer_id=layer.layer_id, schedule_id=schedule_id, position=layer.position,
        name=layer.name, start=layer.start, end=layer.end,
        rotation_virtual_start=layer.rotation_virtual_start,
        rotation_turn_length_seconds=layer.rotation_turn_length_seconds,
        restrictions=layer.restrictions_json(), created_at=now, time_zone=layer.zone_key(),
    ))
    for position, user_id in enumerate(layer.users):
        session.add(ScheduleLayerUser(layer_version_id=layer.version_id, position=position, user_id=user_id))


def _end_version(row: ScheduleLayer, now: datetime) -> None:
    """The version stops at ``now``; one that had not started yet never takes effect."""
    row.superseded_at = now
    cut = max(row.start, now)
    row.end = cut if row.end is None else min(row.end, cut)


async def _snapshot(session: AsyncSession, schedule: Schedule) -> dict[str, Any]:
    versions = (await layer_versions(session, [schedule.id]))[schedule.id]
    return schedule_snapshot(schedule, versions, (await teams_of(session, [schedule.id]))[schedule.id])


async def create_schedule(session: AsyncSession, fields: ScheduleCreate, actor: Actor, now: datetime) -> Schedule:
    await _require_references(session, "schedule", fields.schedule_layers, fields.teams)
    zone = zone_info(fields.time_zone)
    schedule = Schedule(id=new_id(), name=fields.name, description=fields.description,
                        time_zone=fields.time_zone, created_at=now, updated_at=now)
    session.add(schedule)
    await session.flush()  # the schedule row before the rows that reference it
    for position, layer in enumerate(fields.schedule_layers):
        _add_version(session, schedule.id,
                     layer_def(layer, position, zone, version_id=new_id(), layer_id=new_id()), now)
    await _write_teams(session, schedule.id, [t.id for t in fields.teams or []])
    await session.flush()
    record(session, actor, action="create", resource_type="schedule", resource_id=schedule.id,
           summary=schedule.name, after=await _snapshot(session, schedule), at=now)
    return schedule


def preview_versions(fields: ScheduleCreate) -> list[LayerDef]:
    zone = zone_info(fields.time_zone)
    return [
        layer_def(layer, position, zone, version_id=new_id(), layer_id=new_id())
        for position, layer in enumerate(fields.schedule_layers)
    ]


async def check_preview_users(session: AsyncSession, fields: ScheduleCreate) -> None:
    await _require_references(session, "schedule", fields.schedule_layers, fields.teams)


async def update_schedule(
    session: AsyncSession, schedule_id: str, fields: ScheduleFields, actor: Actor, now: datetime,
) -> Schedule:
    schedule = await get_schedule(session, schedule_id)
    before = await _snapshot(session, schedule)
    data = fields.model_dump(exclude_unset=True)
    await _require_references(session, "schedule", fields.schedule_layers if "schedule_layers" in data else None,
                              fields.teams if "teams" in data else None)
    old_zone = iana_name(schedule.time_zone)
    for name in ("name", "description", "time_zone"):
        if name in data:
            setattr(schedule, name, data[name])
    if fields.schedule_layers is not None and "schedule_layers" in data:
        await _replace_layers(session, schedule, fields.schedule_layers, now)
    elif iana_name(schedule.time_zone) != old_zone:
        await _rezone_layers(session, schedule, now)
    if fields.teams is not None and "teams" in data:
        await _write_teams(session, schedule_id, [t.id for t in fields.teams])
    schedule.updated_at = now
    await session.flush()
    record(session, actor, action="update", resource_type="schedule", resource_id=schedule.id,
           summary=schedule.name, before=before, after=await _snapshot(session, schedule), at=now)
    return schedule


async def _replace_layers(session: AsyncSession, schedule: Schedule, layers: list[LayerIn], now: datetime) -> None:
    """Keep unchanged layers, version changed ones from ``now``, end removed ones at ``now``.

    New and changed layers start no earlier than ``now``: an edit never rewrites the past.
    """
    now = now.replace(microsecond=0)  # wire times have whole seconds; a round trip must compare equal
    zone = zone_info(schedule.time_zone)
    live = {row.layer_id: (row, users) for row, users in await version_rows(session, [schedule.id])
            if row.superseded_at is None}
    seen: set[str] = set()
    for position, layer in enumerate(layers):
        field = f"schedule.schedule_layers[{position}].id"
        if layer.id is not None and layer.id not in live:
            raise InvalidInput(errors=[f"{field}: layer {layer.id} is not a current layer of this schedule"])
        if layer.id is not None and layer.id in seen:
            raise InvalidInput(errors=[f"{field}: layer {layer.id} is listed twice"])
        wanted = layer_def(layer, position, zone, version_id=new_id(), layer_id=layer.id or new_id())
        if layer.id is not None:
            seen.add(layer.id)
            row, users = live[layer.id]
            if row_def(row, users).definition() == wanted.definition():
                row.name = wanted.name  # the name changes nothing about who was on call
                continue
            _end_version(row, now)
        _add_version(session, schedule.id, replace(wanted, start=max(wanted.start, now)), now)
    for layer_id, (row, _) in live.items():
        if layer_id not in seen:
            _end_version(row, now)


async def _rezone_layers(session: AsyncSession, schedule: Schedule, now: datetime) -> None:
    """The schedule's zone changed: each live layer goes on from ``now`` in the new zone.

    Restrictions are wall-clock times, so reading old versions in the new zone would move past
    shifts; instead the old version ends now and an identical one in the new zone starts.
    """
    now = now.replace(microsecond=0)
    zone = iana_name(schedule.time_zone)
    for row, users in await version_rows(session, [schedule.id]):
        current = row_def(row, users)
        if row.superseded_at is not None or current.zone_key() == zone:
            continue
        if row.end is not None and row.end <= now:
            continue  # over already: nothing of it lies in the future
        _end_version(row, now)
        _add_version(session, schedule.id, replace(current, version_id=new_id(), start=max(row.start, now),
                                                  time_zone=zone), now)


async def delete_schedule(session: AsyncSession, schedule_id: str, wiring: Wiring, actor: Actor, now: datetime) -> None:
    """Soft delete; refused (400) while an escalation policy targets the schedule. Escalation sits
    above schedules in the layers, so its query comes in ``wiring``."""
    schedule = await get_schedule(session, schedule_id)
    if used_by := await wiring.policies_using_schedule(session, schedule_id):
        names = ", ".join(f"{name} ({pid})" for pid, name in used_by)
        raise Conflict(errors=[f"This schedule is used by escalation policies and cannot be deleted: {names}"])
    before = await _snapshot(session, schedule)
    schedule.deleted_at = now
    await session.flush()
    record(session, actor, action="delete", resource_type="schedule", resource_id=schedule_id,
           summary=schedule.name, before=before, at=now)
