"""REST routes: a schedule's overrides (list, create one or many with per-item results, delete)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from tocsin.auth.access import Principal, audit_actor, require
from tocsin.errors import InvalidInput
from tocsin.http.inputs import field_errors
from tocsin.http.params import boolean
from tocsin.http.runtime import Runtime, runtime
from tocsin.schedules import logic
from tocsin.schedules.params import time_zone, window
from tocsin.schedules.schemas import OverrideIn, OverridesBody
from tocsin.schedules.wire import override_json
from tocsin.schedules.zones import zone_info

router = APIRouter(tags=["Schedules"])
READ = Depends(require("schedules.read"))
WRITE = Depends(require("schedules.write"))


@router.get("/schedules/{schedule_id}/overrides", dependencies=[READ])
async def list_overrides(schedule_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Overrides overlapping ``since``..``until``; ``editable=true`` keeps those not yet over
    (the ones that can still be deleted or cut short)."""
    now = rt.clock.now()
    since, until = window(request, now)
    tz = time_zone(request)
    editable = boolean(request, "editable")
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        rows = sorted(await logic.overrides_in(session, schedule_id, since, until), key=lambda o: (o.start, o.created_at))
        if editable:
            rows = [o for o in rows if o.end > now]
        users = await logic.users_by_id(session, {o.user_id for o in rows})
    zone = tz or zone_info(schedule.time_zone)
    return {"overrides": [override_json(rt.base_url, o, users, zone) for o in rows]}


@router.post("/schedules/{schedule_id}/overrides", status_code=201)
async def create_overrides(
    schedule_id: str, body: OverridesBody, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = WRITE,
) -> Any:
    """One ``override`` -> ``{"override"}``; a list of ``overrides`` -> one result per item."""
    now = rt.clock.now()
    actor = audit_actor(principal, request)
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        zone = zone_info(schedule.time_zone)
        if body.override is not None:
            row = await logic.create_override(session, schedule, body.override, actor, now)
            users = await logic.users_by_id(session, [row.user_id])
            return {"override": override_json(rt.base_url, row, users, zone)}
        results: list[dict[str, Any]] = []
        for index, raw in enumerate(body.overrides or []):
            field = f"overrides[{index}]"
            try:
                item = OverrideIn.model_validate(raw)
                # Creation order decides overlaps, so items of one batch get distinct instants.
                row = await logic.create_override(session, schedule, item, actor, now + timedelta(microseconds=index), field)
            except ValidationError as error:
                results.append({"status": 400, "errors": field_errors(error, field)})
                continue
            except InvalidInput as error:
                results.append({"status": 400, "errors": error.errors or [error.message]})
                continue
            users = await logic.users_by_id(session, [row.user_id])
            results.append({"status": 201, "override": override_json(rt.base_url, row, users, zone)})
    return JSONResponse(results, status_code=201)


@router.delete("/schedules/{schedule_id}/overrides/{override_id}", status_code=204)
async def delete_override(
    schedule_id: str, override_id: str, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = WRITE,
) -> Response:
    """204 when the override is gone; an override already under way is cut short at now instead."""
    async with rt.db.transaction() as session:
        await logic.delete_override(session, schedule_id, override_id, audit_actor(principal, request), rt.clock.now())
    return Response(status_code=204)
