"""REST routes: /priorities (listing is PagerDuty's; get, create and update are Tocsin's)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from tocsin.auth.access import Principal, audit_actor, require
from tocsin.http.pagination import page
from tocsin.http.params import PAGE, documented
from tocsin.http.runtime import Runtime, runtime
from tocsin.incidents import priorities
from tocsin.incidents.models import Priority
from tocsin.incidents.queries import get_priority
from tocsin.incidents.schemas import PriorityCreateBody, PriorityUpdateBody
from tocsin.incidents.wire import priority_json

router = APIRouter(tags=["Priorities"])
PRIORITIES_READ = Depends(require("priorities.read"))
PRIORITIES_WRITE = require("priorities.write")


def _editor(principal: Principal, request: Request) -> priorities.Editor:
    return priorities.Editor(role=principal.role, user_id=principal.user_id, audit=audit_actor(principal, request))


@router.get("/priorities", dependencies=[PRIORITIES_READ], openapi_extra=documented(*PAGE))
async def list_priorities(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    async with rt.db.transaction() as session:
        rows, total = await p.fetch(session, select(Priority).order_by(Priority.position, Priority.id))
    items = [priority_json(rt.base_url, r) for r in rows]
    return p.body("priorities", items, total, p.offset + len(items) < total)


@router.get("/priorities/{priority_id}", dependencies=[PRIORITIES_READ])
async def get_priority_route(priority_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Tocsin extension: PagerDuty only lists priorities."""
    async with rt.db.transaction() as session:
        priority = await get_priority(session, priority_id)
    return {"priority": priority_json(rt.base_url, priority)}


@router.post("/priorities", status_code=201)
async def create_priority(
    body: PriorityCreateBody, request: Request, principal: Principal = Depends(PRIORITIES_WRITE),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """Tocsin extension: PagerDuty's priorities are edited in its web UI only. The new priority
    ranks below the existing ones."""
    async with rt.db.transaction() as session:
        priority = await priorities.create_priority(session, _editor(principal, request), body.priority, rt.clock.now())
    return {"priority": priority_json(rt.base_url, priority)}


@router.put("/priorities/{priority_id}")
async def update_priority(
    priority_id: str, body: PriorityUpdateBody, request: Request, principal: Principal = Depends(PRIORITIES_WRITE),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """Tocsin extension: PagerDuty's priorities are edited in its web UI only."""
    async with rt.db.transaction() as session:
        priority = await priorities.update_priority(session, _editor(principal, request), priority_id, body.priority,
                                                    rt.clock.now())
    return {"priority": priority_json(rt.base_url, priority)}
