"""REST routes: /priorities (listing is PagerDuty's; get, create and update are Tocsin's)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from tocsin.audit.recorder import record
from tocsin.auth.access import Principal, audit_actor, require
from tocsin.errors import AccessDenied
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
ADMIN_ROLES = {"admin", "owner"}


def _require_admin(principal: Principal) -> None:
    """Priorities are account configuration: user keys must belong to an admin or owner
    (account keys act for the account)."""
    if principal.user_id is not None and principal.role not in ADMIN_ROLES:
        raise AccessDenied(errors=["Only an admin or owner may change priorities"])


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
    _require_admin(principal)
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        priority = await priorities.create_priority(session, body.priority, now)
        record(session, audit_actor(principal, request), action="create", resource_type="priority",
               resource_id=priority.id, summary=priority.name, after=priorities.priority_snapshot(priority), at=now)
    return {"priority": priority_json(rt.base_url, priority)}


@router.put("/priorities/{priority_id}")
async def update_priority(
    priority_id: str, body: PriorityUpdateBody, request: Request, principal: Principal = Depends(PRIORITIES_WRITE),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """Tocsin extension: PagerDuty's priorities are edited in its web UI only."""
    _require_admin(principal)
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        before = priorities.priority_snapshot(await get_priority(session, priority_id))
        priority = await priorities.update_priority(session, priority_id, body.priority, now)
        record(session, audit_actor(principal, request), action="update", resource_type="priority",
               resource_id=priority.id, summary=priority.name, before=before,
               after=priorities.priority_snapshot(priority), at=now)
    return {"priority": priority_json(rt.base_url, priority)}
