"""REST routes: /services and /services/{id}/integrations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.access import Principal, audit_actor, require
from tocsin.escalation.queries import policy_labels
from tocsin.http import includes
from tocsin.http.pagination import name_contains, page
from tocsin.http.params import PAGE, documented, text_filter
from tocsin.http.runtime import Runtime, runtime
from tocsin.services import logic
from tocsin.services.models import Service
from tocsin.services.schemas import (
    IntegrationCreateBody,
    IntegrationUpdateBody,
    ServiceCreateBody,
    ServiceUpdateBody,
)
from tocsin.services.wire import Related, integration_json, service_json

router = APIRouter(tags=["Services"])
READ = Depends(require("services.read"))
WRITE = Depends(require("services.write"))


# include[] values PagerDuty documents for each operation (tests/api/test_includes.py checks them).
LIST_INCLUDES = ("escalation_policies", "teams", "integrations", "auto_pause_notifications_parameters")
SERVICE_INCLUDES = ("escalation_policies", "teams", "auto_pause_notifications_parameters", "integrations")
INTEGRATION_INCLUDES = ("services", "vendors")  # vendors: Tocsin has none to show


async def _related(session: AsyncSession, services: list[Service]) -> Related:
    """Policy names and (through the policies) team names of these services, in bulk."""
    policy_ids = {s.escalation_policy_id for s in services if s.escalation_policy_id}
    labels = await policy_labels(session, policy_ids)
    return Related(policy_names=labels.names, policy_teams=labels.team_ids, team_names=labels.team_names)


def _forget_keys(rt: Runtime, keys: list[str]) -> None:
    """After the commit: the events hot path stops accepting these keys now, not at its cache's TTL."""
    for key in keys:
        rt.wiring.forget_routing_key(key)


@router.get("/services", dependencies=[READ], openapi_extra=documented(*PAGE, "query", "include[]"))
async def list_services(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    include = includes.asked(request, LIST_INCLUDES)
    query_text = text_filter(request, "query")
    where: list[ColumnElement[bool]] = [Service.deleted_at.is_(None)]
    if query_text:
        where.append(name_contains(Service.name, query_text))
    async with rt.db.transaction() as session:
        rows, total = await p.fetch(session, select(Service).where(*where).order_by(Service.name, Service.id))
        integrations = await logic.integrations_of(session, [s.id for s in rows])
        related = await _related(session, rows)
    items = [service_json(rt.base_url, s, integrations[s.id], related, include) for s in rows]
    return p.body("services", items, total, p.offset + len(items) < total)


@router.post("/services", status_code=201)
async def create_service(
    body: ServiceCreateBody, request: Request, rt: Runtime = Depends(runtime), principal: Principal = WRITE
) -> dict[str, Any]:
    include = includes.asked(request, SERVICE_INCLUDES)
    async with rt.db.transaction() as session:
        service = await logic.create_service(session, body.service, audit_actor(principal, request), rt.clock.now())
        related = await _related(session, [service])
    return {"service": service_json(rt.base_url, service, [], related, include)}


@router.get("/services/{service_id}", dependencies=[READ], openapi_extra=documented("include[]"))
async def get_service(service_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    include = includes.asked(request, SERVICE_INCLUDES)
    async with rt.db.transaction() as session:
        service = await logic.get_service(session, service_id)
        integrations = await logic.integrations_of(session, [service_id])
        related = await _related(session, [service])
    return {"service": service_json(rt.base_url, service, integrations[service_id], related, include)}


@router.put("/services/{service_id}")
async def update_service(
    service_id: str, body: ServiceUpdateBody, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = WRITE,
) -> dict[str, Any]:
    include = includes.asked(request, SERVICE_INCLUDES)
    async with rt.db.transaction() as session:
        service = await logic.update_service(session, service_id, body.service, audit_actor(principal, request),
                                             rt.clock.now())
        integrations = await logic.integrations_of(session, [service_id])
        related = await _related(session, [service])
    return {"service": service_json(rt.base_url, service, integrations[service_id], related, include)}


@router.delete("/services/{service_id}", status_code=204)
async def delete_service(
    service_id: str, request: Request, rt: Runtime = Depends(runtime), principal: Principal = WRITE
) -> Response:
    async with rt.db.transaction() as session:
        keys = await logic.delete_service(session, service_id, audit_actor(principal, request), rt.clock.now(),
                                          rt.wiring)
    _forget_keys(rt, keys)
    return Response(status_code=204)


@router.post("/services/{service_id}/integrations", status_code=201)
async def create_integration(
    service_id: str, body: IntegrationCreateBody, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = WRITE,
) -> dict[str, Any]:
    """Tocsin extension: an admin may send ``integration_key`` (32 letters or digits) to keep a key
    from another system, e.g. when importing a PagerDuty account; otherwise one is generated."""
    async with rt.db.transaction() as session:
        integration = await logic.create_integration(session, service_id, body.integration,
                                                     audit_actor(principal, request), rt.clock.now(),
                                                     logic.Creator(principal.kind, principal.role))
        service = await logic.get_service(session, service_id)
    return {"integration": integration_json(rt.base_url, integration, service)}


@router.get("/services/{service_id}/integrations/{integration_id}", dependencies=[READ])
async def get_integration(
    service_id: str, integration_id: str, request: Request, rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    expand = "services" in includes.asked(request, INTEGRATION_INCLUDES, supported={"services"})
    async with rt.db.transaction() as session:
        service = await logic.get_service(session, service_id)
        integration = await logic.get_integration(session, service_id, integration_id)
    return {"integration": integration_json(rt.base_url, integration, service, expand_service=expand)}


@router.put("/services/{service_id}/integrations/{integration_id}")
async def update_integration(
    service_id: str, integration_id: str, body: IntegrationUpdateBody, request: Request,
    rt: Runtime = Depends(runtime), principal: Principal = WRITE,
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        integration = await logic.update_integration(session, service_id, integration_id, body.integration,
                                                     audit_actor(principal, request), rt.clock.now())
        service = await logic.get_service(session, service_id)
    return {"integration": integration_json(rt.base_url, integration, service)}


@router.delete("/services/{service_id}/integrations/{integration_id}", status_code=204)
async def delete_integration(
    service_id: str, integration_id: str, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = WRITE,
) -> Response:
    async with rt.db.transaction() as session:
        key = await logic.delete_integration(session, service_id, integration_id, audit_actor(principal, request),
                                             rt.clock.now())
    _forget_keys(rt, [key])
    return Response(status_code=204)
