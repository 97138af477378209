"""REST routes of the events domain: /change_events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from tocsin.auth.access import require
from tocsin.errors import NotFound
from tocsin.events.models import CHANGE_EVENT_RETENTION as RETENTION
from tocsin.events.models import ChangeEvent
from tocsin.http import params
from tocsin.http.pagination import page
from tocsin.http.params import PAGE, documented
from tocsin.http.refs import envelope, iso, reference
from tocsin.http.runtime import Runtime, runtime

router = APIRouter(tags=["Change Events"])
READ = Depends(require("change_events.read"))


def change_event_json(base: str, event: ChangeEvent) -> dict[str, Any]:
    body = envelope(base, "change_event", event.id, event.summary)
    body.update(
        timestamp=iso(event.timestamp),
        summary=event.summary,
        source=event.source,
        services=[reference(base, "service", event.service_id, event.service_id)],
        integration={"id": event.integration_id, "type": "inbound_integration_reference"},
        links=event.links,
        images=[],
        custom_details=event.custom_details,
    )
    return body


@router.get("/change_events", dependencies=[READ],
            openapi_extra=documented(*PAGE, "since", "until", "service_ids[]", "integration_ids[]"))
async def list_change_events(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    # Change events are kept 90 days: older ones are never shown, whatever the window (and the
    # retention sweep deletes them, tocsin.events.retention).
    where = [ChangeEvent.timestamp >= rt.clock.now() - RETENTION]
    if since := params.optional_datetime(request, "since"):
        where.append(ChangeEvent.timestamp >= since)
    if until := params.optional_datetime(request, "until"):
        where.append(ChangeEvent.timestamp < until)
    if service_ids := params.array(request, "service_ids"):
        where.append(ChangeEvent.service_id.in_(service_ids))
    if integration_ids := params.array(request, "integration_ids"):
        where.append(ChangeEvent.integration_id.in_(integration_ids))
    async with rt.db.transaction() as session:
        query = select(ChangeEvent).where(*where).order_by(ChangeEvent.timestamp.desc(), ChangeEvent.id)
        rows, total = await p.fetch(session, query)
    items = [change_event_json(rt.base_url, e) for e in rows]
    return p.body("change_events", items, total, p.offset + len(items) < total)


@router.get("/change_events/{change_event_id}", dependencies=[READ])
async def get_change_event(change_event_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        event = await session.get(ChangeEvent, change_event_id)
    if event is None:
        raise NotFound(errors=["Change event not found"])
    return {"change_event": change_event_json(rt.base_url, event)}
