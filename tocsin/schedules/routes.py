"""REST routes: /schedules, their overrides and on-call users, and /schedules/preview."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.access import require
from tocsin.errors import InvalidInput
from tocsin.http.pagination import name_contains, page
from tocsin.http.params import boolean, optional_datetime, time_zone
from tocsin.http.runtime import Runtime, runtime
from tocsin.schedules import logic
from tocsin.schedules.logic import LayerDef
from tocsin.schedules.models import Schedule, ScheduleOverride
from tocsin.schedules.schemas import (
    OverrideIn,
    OverridesBody,
    ScheduleCreateBody,
    SchedulePreviewBody,
    ScheduleUpdateBody,
)
from tocsin.schedules.wire import override_json, schedule_json, user_json

router = APIRouter(tags=["Schedules"])
READ = Depends(require("schedules.read"))
WRITE = Depends(require("schedules.write"))

DEFAULT_WINDOW = timedelta(days=14)


def _window(request: Request, now: datetime) -> tuple[datetime, datetime]:
    """``since`` (default now) and ``until`` (default two weeks after ``since``), checked."""
    since = optional_datetime(request, "since") or now
    until = optional_datetime(request, "until") or since + DEFAULT_WINDOW
    logic.check_window(since, until)
    return since, until


async def _rendered(
    session: AsyncSession, rt: Runtime, request: Request, schedule: Schedule, versions: list[LayerDef],
    overrides_for: Sequence[ScheduleOverride] | None = None, *, after_write: bool = False,
) -> dict[str, Any]:
    """The schedule rendered over the request's window.

    After a create or update the write stands even if the window is too dense to render (say, a
    one-second rotation): the answer then carries the definition without rendered entries.
    """
    since, until = _window(request, rt.clock.now())
    overflow = boolean(request, "overflow")
    tz = time_zone(request)
    overrides = list(overrides_for) if overrides_for is not None else await logic.overrides_in(session, schedule.id)
    rendering: logic.Rendering | None
    try:
        rendering = logic.render(versions, overrides, schedule.time_zone, since, until, overflow)
    except logic.TooManyTurns:
        if not after_write:
            raise
        rendering = None
    ids = {u for v in versions for u in v.users} | {o.user_id for o in overrides}
    users = await logic.users_by_id(session, ids)
    return schedule_json(rt.base_url, schedule, versions, users, tz, rendering)


@router.get("/schedules", dependencies=[READ])
async def list_schedules(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    query_text = request.query_params.get("query")
    where = [Schedule.deleted_at.is_(None)]
    if query_text:
        where.append(name_contains(Schedule.name, query_text))
    async with rt.db.transaction() as session:
        rows, total = await p.fetch(session, select(Schedule).where(*where).order_by(Schedule.name, Schedule.id))
        versions = await logic.layer_versions(session, [s.id for s in rows])
        users = await logic.users_by_id(session, {u for vs in versions.values() for v in vs for u in v.users})
    items = [schedule_json(rt.base_url, s, versions[s.id], users) for s in rows]
    return p.body("schedules", items, total, p.offset + len(items) < total)


@router.post("/schedules", status_code=201, dependencies=[WRITE])
async def create_schedule(body: ScheduleCreateBody, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        schedule = await logic.create_schedule(session, body.schedule, rt.clock.now())
        versions = (await logic.layer_versions(session, [schedule.id]))[schedule.id]
        return {"schedule": await _rendered(session, rt, request, schedule, versions, [], after_write=True)}


@router.post("/schedules/preview", dependencies=[WRITE])
async def preview_schedule(body: SchedulePreviewBody, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Render a schedule definition without saving anything."""
    now = rt.clock.now()
    fields = body.schedule
    schedule = Schedule(id="PREVIEW", name=fields.name, description=fields.description,
                        time_zone=fields.time_zone, created_at=now, updated_at=now)
    async with rt.db.transaction() as session:
        await logic.check_preview_users(session, fields)
        return {"schedule": await _rendered(session, rt, request, schedule, logic.preview_versions(fields), [])}


@router.get("/schedules/{schedule_id}", dependencies=[READ])
async def get_schedule(schedule_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        versions = (await logic.layer_versions(session, [schedule_id]))[schedule_id]
        return {"schedule": await _rendered(session, rt, request, schedule, versions)}


@router.put("/schedules/{schedule_id}", dependencies=[WRITE])
async def update_schedule(
    schedule_id: str, body: ScheduleUpdateBody, request: Request, rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        schedule = await logic.update_schedule(session, schedule_id, body.schedule, rt.clock.now())
        versions = (await logic.layer_versions(session, [schedule_id]))[schedule_id]
        return {"schedule": await _rendered(session, rt, request, schedule, versions, after_write=True)}


@router.delete("/schedules/{schedule_id}", status_code=204, dependencies=[WRITE])
async def delete_schedule(schedule_id: str, rt: Runtime = Depends(runtime)) -> Response:
    async with rt.db.transaction() as session:
        await logic.delete_schedule(session, schedule_id, rt.clock.now())
    return Response(status_code=204)


@router.get("/schedules/{schedule_id}/users", dependencies=[READ])
async def schedule_users(schedule_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """The users on call in the final schedule between ``since`` and ``until``."""
    since, until = _window(request, rt.clock.now())
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        versions = (await logic.layer_versions(session, [schedule_id]))[schedule_id]
        overrides = await logic.overrides_in(session, schedule_id)
        rendering = logic.render(versions, overrides, schedule.time_zone, since, until, False)
        order = list(dict.fromkeys(e.user for e in rendering.result.final))
        users = await logic.users_by_id(session, order)
    return {"users": [user_json(rt.base_url, users[u]) for u in order if u in users]}


@router.get("/schedules/{schedule_id}/overrides", dependencies=[READ])
async def list_overrides(schedule_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    since, until = _window(request, rt.clock.now())
    tz = time_zone(request)
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        rows = sorted(await logic.overrides_in(session, schedule_id, since, until), key=lambda o: (o.start, o.created_at))
        users = await logic.users_by_id(session, {o.user_id for o in rows})
    zone = tz or ZoneInfo(schedule.time_zone)
    return {"overrides": [override_json(rt.base_url, o, users, zone) for o in rows]}


def _validation_errors(prefix: str, error: ValidationError) -> list[str]:
    return [
        f"{'.'.join([prefix, *(str(p) for p in e['loc'])])}: {e['msg']}" for e in error.errors()
    ]


@router.post("/schedules/{schedule_id}/overrides", status_code=201, dependencies=[WRITE])
async def create_overrides(
    schedule_id: str, body: OverridesBody, rt: Runtime = Depends(runtime)
) -> Any:
    """One ``override`` -> ``{"override"}``; a list of ``overrides`` -> one result per item."""
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        zone = ZoneInfo(schedule.time_zone)
        if body.override is not None:
            row = await logic.create_override(session, schedule, body.override, now)
            users = await logic.users_by_id(session, [row.user_id])
            return {"override": override_json(rt.base_url, row, users, zone)}
        results: list[dict[str, Any]] = []
        for index, raw in enumerate(body.overrides or []):
            field = f"overrides[{index}]"
            try:
                item = OverrideIn.model_validate(raw)
                # Creation order decides overlaps, so items of one batch get distinct instants.
                row = await logic.create_override(session, schedule, item, now + timedelta(microseconds=index), field)
            except ValidationError as error:
                results.append({"status": 400, "errors": _validation_errors(field, error)})
                continue
            except InvalidInput as error:
                results.append({"status": 400, "errors": error.errors or [error.message]})
                continue
            users = await logic.users_by_id(session, [row.user_id])
            results.append({"status": 201, "override": override_json(rt.base_url, row, users, zone)})
    return JSONResponse(results, status_code=201)


@router.delete("/schedules/{schedule_id}/overrides/{override_id}", status_code=204, dependencies=[WRITE])
async def delete_override(schedule_id: str, override_id: str, rt: Runtime = Depends(runtime)) -> Response:
    async with rt.db.transaction() as session:
        await logic.delete_override(session, schedule_id, override_id, rt.clock.now())
    return Response(status_code=204)
