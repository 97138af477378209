"""``GET /audit/records`` and each resource's ``/{collection}/{id}/audit/records``.

These live in the composition root, not in ``tocsin.audit``: they need the access checks
(``tocsin.auth``, a higher layer) and, to answer 404 for unknown ids, every audited domain's
table. Reading the trail needs ``audit_records.read``: account keys, owner/admin users, or an
OAuth token granted it (PagerDuty keeps the trail to admins, owners and global keys too).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from tocsin.allowlists.models import IpAllowList
from tocsin.audit import queries
from tocsin.audit.wire import page_json
from tocsin.auth.access import require
from tocsin.auth.models import User
from tocsin.errors import NotFound
from tocsin.escalation.models import EscalationPolicy
from tocsin.http.params import documented
from tocsin.http.runtime import Runtime, runtime
from tocsin.schedules.models import Schedule
from tocsin.services.models import Service
from tocsin.teams.models import Team

router = APIRouter(tags=["Audit"])
READ = Depends(require("audit_records.read"))

# collection in the path -> (recorded root type, the table whose rows it names)
AUDITED: dict[str, tuple[str, Any]] = {
    "users": ("user", User),
    "services": ("service", Service),
    "schedules": ("schedule", Schedule),
    "escalation_policies": ("escalation_policy", EscalationPolicy),
    "teams": ("team", Team),
    "ip_allow_lists": ("ip_allow_list", IpAllowList),
}


@router.get("/audit/records", dependencies=[READ],
            openapi_extra=documented("limit", "cursor", "since", "until", "root_resource_types[]", "actor_type",
                                     "actor_id", "method_type", "method_truncated_token", "actions[]"))
async def list_records(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    q = queries.parse_query(request, rt.clock.now())
    async with rt.db.transaction() as session:
        rows, next_cursor = await queries.fetch(session, q)
    return page_json(rt.base_url, rows, q.limit, next_cursor)


async def _resource_records(collection: str, resource_id: str, request: Request, rt: Runtime) -> dict[str, Any]:
    root_type, model = AUDITED[collection]
    q = queries.parse_query(request, rt.clock.now(), root_type=root_type, root_id=resource_id)
    async with rt.db.transaction() as session:
        # Deleted resources keep their trail: a row (even soft-deleted) or any record is enough.
        exists = (await session.execute(select(model.id).where(model.id == resource_id))).first() is not None
        if not exists and not await queries.has_records(session, root_type, resource_id):
            raise NotFound(errors=[f"{root_type} {resource_id} not found"])
        rows, next_cursor = await queries.fetch(session, q)
    return page_json(rt.base_url, rows, q.limit, next_cursor)


@router.get("/users/{id}/audit/records", dependencies=[READ],
            openapi_extra=documented("limit", "cursor", "since", "until"))
async def user_records(id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:  # noqa: A002
    return await _resource_records("users", id, request, rt)


@router.get("/services/{id}/audit/records", dependencies=[READ],
            openapi_extra=documented("limit", "cursor", "since", "until"))
async def service_records(id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:  # noqa: A002
    return await _resource_records("services", id, request, rt)


@router.get("/schedules/{id}/audit/records", dependencies=[READ],
            openapi_extra=documented("limit", "cursor", "since", "until"))
async def schedule_records(id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:  # noqa: A002
    return await _resource_records("schedules", id, request, rt)


@router.get("/escalation_policies/{id}/audit/records", dependencies=[READ],
            openapi_extra=documented("limit", "cursor", "since", "until"))
async def escalation_policy_records(
    id: str, request: Request, rt: Runtime = Depends(runtime),  # noqa: A002
) -> dict[str, Any]:
    return await _resource_records("escalation_policies", id, request, rt)


@router.get("/teams/{id}/audit/records", dependencies=[READ],
            openapi_extra=documented("limit", "cursor", "since", "until"))
async def team_records(id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:  # noqa: A002
    return await _resource_records("teams", id, request, rt)


@router.get("/ip_allow_lists/{id}/audit/records", dependencies=[READ],
            openapi_extra=documented("limit", "cursor", "since", "until"))
async def ip_allow_list_records(id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:  # noqa: A002
    return await _resource_records("ip_allow_lists", id, request, rt)
