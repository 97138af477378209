"""REST routes: /ip_allow_lists, at PagerDuty's paths and shapes (its ``X-EARLY-ACCESS`` header
is accepted, not required). Tocsin's additions: ``applies_to`` and the ``force`` parameter."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from tocsin.allowlists import logic, queries
from tocsin.allowlists.schemas import AllowListBody
from tocsin.allowlists.wire import allow_list_json
from tocsin.auth.access import Principal, audit_actor, require
from tocsin.http import params
from tocsin.http.runtime import Runtime, runtime

router = APIRouter(tags=["IP Allow Lists"])
# PagerDuty: account owners, global admins and account keys (tocsin.auth.roles: admin only).
READ = Depends(require("ip_allow_lists.read"))
WRITE = require("ip_allow_lists.write")
FORCE = {"parameters": [{
    "name": "force", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
    "description": "Tocsin: apply the change even though the REST API would then refuse the address making it.",
}]}


def _fields(body: AllowListBody) -> logic.ListFields:
    wanted = body.ip_allow_list
    return logic.ListFields(state=wanted.state, entries=[(e.cidr, e.description) for e in wanted.cidr_entries],
                            applies_to=wanted.applies_to)


def _requester(request: Request) -> logic.Requester:
    # request.client is the client a trusted proxy named (the guard resolved it before routing).
    return logic.Requester(address=request.client.host if request.client else None,
                           force=params.boolean(request, "force"))


@router.get("/ip_allow_lists", dependencies=[READ])
async def list_allow_lists(rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        rows = await queries.all_lists(session)
    return {"ip_allow_lists": [allow_list_json(rt.base_url, row) for row in rows]}


@router.post("/ip_allow_lists", status_code=201, openapi_extra=FORCE)
async def create_allow_list(body: AllowListBody, request: Request, principal: Principal = Depends(WRITE),
                            rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        row = await logic.create_list(session, _fields(body), actor=audit_actor(principal, request),
                                      now=rt.clock.now(), requester=_requester(request),
                                      changed=rt.wiring.allow_lists_changed)
    return {"ip_allow_list": allow_list_json(rt.base_url, row)}


@router.get("/ip_allow_lists/{list_id}", dependencies=[READ])
async def get_allow_list(list_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        row = await logic.get_list(session, list_id)
    return {"ip_allow_list": allow_list_json(rt.base_url, row)}


@router.put("/ip_allow_lists/{list_id}", openapi_extra=FORCE)
async def update_allow_list(list_id: str, body: AllowListBody, request: Request,
                            principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        row = await logic.replace_list(session, list_id, _fields(body), actor=audit_actor(principal, request),
                                       now=rt.clock.now(), requester=_requester(request),
                                       changed=rt.wiring.allow_lists_changed)
    return {"ip_allow_list": allow_list_json(rt.base_url, row)}


@router.delete("/ip_allow_lists/{list_id}", status_code=204, openapi_extra=FORCE)
async def delete_allow_list(list_id: str, request: Request, principal: Principal = Depends(WRITE),
                            rt: Runtime = Depends(runtime)) -> Response:
    async with rt.db.transaction() as session:
        await logic.delete_list(session, list_id, actor=audit_actor(principal, request), now=rt.clock.now(),
                                requester=_requester(request), changed=rt.wiring.allow_lists_changed)
    return Response(status_code=204)
