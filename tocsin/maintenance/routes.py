"""REST routes: /maintenance_windows, and the triggers each window held back."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import ColumnElement, exists, false, select

from tocsin.auth.access import Principal, acting_user, audit_actor, require
from tocsin.errors import InvalidInput
from tocsin.http import includes, params
from tocsin.http.pagination import name_contains, page
from tocsin.http.params import PAGE, documented
from tocsin.http.runtime import Runtime, runtime
from tocsin.maintenance import logic
from tocsin.maintenance.models import MaintenanceWindow, MaintenanceWindowService, SuppressedEvent
from tocsin.maintenance.schemas import WindowCreateBody, WindowUpdateBody
from tocsin.maintenance.wire import suppressed_json, window_json

router = APIRouter(tags=["Maintenance Windows"])
# PagerDuty scopes maintenance windows under services.
READ = Depends(require("services.read"))
WRITE = require("services.write")
FILTERS = {"past", "future", "ongoing", "open", "all"}


# include[] values PagerDuty documents for both GET routes (tests/api/test_includes.py checks them).
WINDOW_INCLUDES = ("teams", "services", "users")


def _state_filter(request: Request, rt: Runtime) -> list[ColumnElement[bool]]:
    chosen = request.query_params.get("filter") or "all"
    if chosen not in FILTERS:
        raise InvalidInput(errors=[f"filter must be one of {sorted(FILTERS)}"])
    now = rt.clock.now()
    W = MaintenanceWindow
    return {
        "past": [W.end_time <= now],
        "future": [W.start_time > now],
        "ongoing": [W.start_time <= now, W.end_time > now],
        "open": [W.end_time > now],  # ongoing or still to come
        "all": [],
    }[chosen]


def _covers_any(service_ids: list[str]) -> ColumnElement[bool]:
    return exists().where(
        MaintenanceWindowService.window_id == MaintenanceWindow.id,
        MaintenanceWindowService.service_id.in_(service_ids),
    )


@router.get("/maintenance_windows", dependencies=[READ],
            openapi_extra=documented(*PAGE, "query", "team_ids[]", "service_ids[]", "include[]", "filter"))
async def list_windows(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    include = includes.asked(request, WINDOW_INCLUDES)
    where = [MaintenanceWindow.deleted_at.is_(None), *_state_filter(request, rt)]
    if text := params.text_filter(request, "query"):
        where.append(name_contains(MaintenanceWindow.description, text))
    if service_ids := params.array(request, "service_ids"):
        where.append(_covers_any(service_ids))
    if params.array(request, "team_ids"):
        where.append(false())  # services carry no team yet, so no window relates to a team
    query = select(MaintenanceWindow).where(*where).order_by(
        MaintenanceWindow.start_time, MaintenanceWindow.sequence_number
    )
    async with rt.db.transaction() as session:
        rows, total = await p.fetch(session, query)
        related = await logic.related(session, rows)
    items = [window_json(rt.base_url, w, related, include) for w in rows]
    return p.body("maintenance_windows", items, total, p.offset + len(items) < total)


@router.post("/maintenance_windows", status_code=201)
async def create_window(
    body: WindowCreateBody, request: Request, principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    user = await acting_user(request, principal, rt)
    async with rt.db.transaction() as session:
        window = await logic.create_window(
            session, body.maintenance_window, user.id, audit_actor(principal, request), rt.clock.now()
        )
        related = await logic.related(session, [window])
    return {"maintenance_window": window_json(rt.base_url, window, related)}


@router.get("/maintenance_windows/{window_id}", dependencies=[READ], openapi_extra=documented("include[]"))
async def get_window(window_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    include = includes.asked(request, WINDOW_INCLUDES)
    async with rt.db.transaction() as session:
        window = await logic.get_window(session, window_id)
        related = await logic.related(session, [window])
    return {"maintenance_window": window_json(rt.base_url, window, related, include)}


@router.put("/maintenance_windows/{window_id}")
async def update_window(
    window_id: str, body: WindowUpdateBody, request: Request,
    principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        window = await logic.update_window(
            session, window_id, body.maintenance_window, audit_actor(principal, request), rt.clock.now()
        )
        related = await logic.related(session, [window])
    return {"maintenance_window": window_json(rt.base_url, window, related)}


@router.delete("/maintenance_windows/{window_id}", status_code=204)
async def delete_window(
    window_id: str, request: Request, principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)
) -> Response:
    async with rt.db.transaction() as session:
        await logic.delete_window(session, window_id, audit_actor(principal, request), rt.clock.now())
    return Response(status_code=204)


@router.get("/maintenance_windows/{window_id}/suppressed_events", dependencies=[READ], openapi_extra=documented(*PAGE))
async def list_suppressed(window_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Tocsin's addition: the triggers this window held back (they opened no incident)."""
    p = page(request)
    query = (
        select(SuppressedEvent)
        .where(SuppressedEvent.window_id == window_id)
        .order_by(SuppressedEvent.received_at, SuppressedEvent.id)
    )
    async with rt.db.transaction() as session:
        await logic.get_window(session, window_id)
        rows, total = await p.fetch(session, query)
        related = await logic.related_services(session, {r.service_id for r in rows})
    items = [suppressed_json(rt.base_url, r, related.get(r.service_id, r.service_id)) for r in rows]
    return p.body("suppressed_events", items, total, p.offset + len(items) < total)
