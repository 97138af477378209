"""REST routes: a schedule's overrides (list, create one or many with per-item results, delete)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from tocsin.auth.access import Principal, audit_actor, require
from tocsin.errors import InvalidInput
from tocsin.http.inputs import field_errors
from tocsin.http.params import boolean, documented
from tocsin.http.runtime import Runtime, runtime
from tocsin.schedules import logic, override_logic
from tocsin.schedules.params import time_zone, window
from tocsin.schedules.schemas import OverrideIn, OverridesBody
from tocsin.schedules.wire import override_json, refused_override_json
from tocsin.schedules.zones import zone_info

router = APIRouter(tags=["Schedules"])
READ = Depends(require("schedules.read"))
WRITE = Depends(require("schedules.write"))


@router.get("/schedules/{schedule_id}/overrides", dependencies=[READ],
            openapi_extra=documented("since", "until", "editable", "time_zone"))
async def list_overrides(schedule_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Overrides overlapping ``since``..``until``; ``editable=true`` keeps those not yet over
    (the ones that can still be deleted or cut short)."""
    now = rt.clock.now()
    since, until = window(request, now)
    tz = time_zone(request)
    editable = boolean(request, "editable")
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        rows = sorted(await logic.overrides_in(session, schedule_id, since, until),
                      key=lambda o: (o.start, o.created_at))
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
    """One ``override`` -> ``{"override"}``. A list of ``overrides`` (1 to 100) -> one result per
    item, as PagerDuty answers: ``{"status": 201, "override"}`` for each created, ``{"status": 400,
    "errors", "override"}`` (as asked) for each refused for what it says (end not after start,
    unknown user). An item that is not an override at all refuses the whole request, writing nothing."""
    now = rt.clock.now()
    actor = audit_actor(principal, request)
    items = _shaped(body.overrides) if body.overrides is not None else []
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        zone = zone_info(schedule.time_zone)
        if body.override is not None:
            row = await override_logic.create_override(session, schedule, body.override, actor, now)
            users = await logic.users_by_id(session, [row.user_id])
            return {"override": override_json(rt.base_url, row, users, zone)}
        created = await override_logic.create_overrides(session, schedule, items, actor, now)
        users = await logic.users_by_id(session, {result.user_id for result in created})
    results = [
        {"status": 201, "override": override_json(rt.base_url, result.row, users, zone)} if result.row is not None
        else {"status": 400, "errors": result.errors,
              "override": refused_override_json(rt.base_url, result.start, result.end, result.user_id, users, zone)}
        for result in created
    ]
    return JSONResponse(results, status_code=201)


def _shaped(raw_items: list[Any]) -> list[OverrideIn]:
    """Every batch item as an override, or a 400 naming each malformed field (nothing is written)."""
    items: list[OverrideIn] = []
    errors: list[str] = []
    for index, raw in enumerate(raw_items):
        try:
            items.append(OverrideIn.model_validate(raw))
        except ValidationError as error:
            errors += field_errors(error, f"overrides[{index}]")
    if errors:
        raise InvalidInput(errors=errors)
    return items


@router.delete("/schedules/{schedule_id}/overrides/{override_id}", status_code=204)
async def delete_override(
    schedule_id: str, override_id: str, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = WRITE,
) -> Response:
    """204 when the override is gone; an override already under way is cut short at now instead."""
    async with rt.db.transaction() as session:
        await override_logic.delete_override(session, schedule_id, override_id, audit_actor(principal, request),
                                             rt.clock.now())
    return Response(status_code=204)
