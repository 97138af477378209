"""REST routes: /services and /services/{id}/integrations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from tocsin.auth.access import require
from tocsin.http.pagination import name_contains, page
from tocsin.http.runtime import Runtime, runtime
from tocsin.services import logic
from tocsin.services.models import Service
from tocsin.services.schemas import (
    IntegrationCreateBody,
    IntegrationUpdateBody,
    ServiceCreateBody,
    ServiceUpdateBody,
)
from tocsin.services.wire import integration_json, service_json

router = APIRouter(tags=["Services"])
READ = Depends(require("services.read"))
WRITE = Depends(require("services.write"))


def _forget_keys(rt: Runtime, keys: list[str]) -> None:
    forget = rt.hooks.get("forget_routing_key")
    for key in keys:
        if forget is not None:
            forget(key)


@router.get("/services", dependencies=[READ])
async def list_services(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    query_text = request.query_params.get("query")
    where = [Service.deleted_at.is_(None)]
    if query_text:
        where.append(name_contains(Service.name, query_text))
    async with rt.db.transaction() as session:
        rows, total = await p.fetch(session, select(Service).where(*where).order_by(Service.name, Service.id))
        integrations = await logic.integrations_of(session, [s.id for s in rows])
    items = [service_json(rt.base_url, s, integrations[s.id]) for s in rows]
    return p.body("services", items, total, p.offset + len(items) < total)


@router.post("/services", status_code=201, dependencies=[WRITE])
async def create_service(body: ServiceCreateBody, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        service = await logic.create_service(session, body.service, rt.clock.now())
    return {"service": service_json(rt.base_url, service, [])}


@router.get("/services/{service_id}", dependencies=[READ])
async def get_service(service_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        service = await logic.get_service(session, service_id)
        integrations = await logic.integrations_of(session, [service_id])
    return {"service": service_json(rt.base_url, service, integrations[service_id])}


@router.put("/services/{service_id}", dependencies=[WRITE])
async def update_service(service_id: str, body: ServiceUpdateBody, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        service = await logic.update_service(session, service_id, body.service, rt.clock.now())
        integrations = await logic.integrations_of(session, [service_id])
    return {"service": service_json(rt.base_url, service, integrations[service_id])}


@router.delete("/services/{service_id}", status_code=204, dependencies=[WRITE])
async def delete_service(service_id: str, rt: Runtime = Depends(runtime)) -> Response:
    async with rt.db.transaction() as session:
        keys = await logic.delete_service(session, service_id, rt.clock.now())
    _forget_keys(rt, keys)
    return Response(status_code=204)


@router.post("/services/{service_id}/integrations", status_code=201, dependencies=[WRITE])
async def create_integration(service_id: str, body: IntegrationCreateBody, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        integration = await logic.create_integration(session, service_id, body.integration, rt.clock.now())
        service = await logic.get_service(session, service_id)
    return {"integration": integration_json(rt.base_url, integration, service)}


@router.get("/services/{service_id}/integrations/{integration_id}", dependencies=[READ])
async def get_integration(service_id: str, integration_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        service = await logic.get_service(session, service_id)
        integration = await logic.get_integration(session, service_id, integration_id)
    return {"integration": integration_json(rt.base_url, integration, service)}


@router.put("/services/{service_id}/integrations/{integration_id}", dependencies=[WRITE])
async def update_integration(
    service_id: str, integration_id: str, body: IntegrationUpdateBody, rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        integration = await logic.update_integration(session, service_id, integration_id, body.integration)
        service = await logic.get_service(session, service_id)
    return {"integration": integration_json(rt.base_url, integration, service)}


@router.delete("/services/{service_id}/integrations/{integration_id}", status_code=204, dependencies=[WRITE])
async def delete_integration(service_id: str, integration_id: str, rt: Runtime = Depends(runtime)) -> Response:
    async with rt.db.transaction() as session:
        key = await logic.delete_integration(session, service_id, integration_id, rt.clock.now())
    _forget_keys(rt, [key])
    return Response(status_code=204)
