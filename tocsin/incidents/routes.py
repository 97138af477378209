"""REST routes: /incidents, their alerts and log entries, and /log_entries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import case, select

from tocsin.auth.access import Principal, acting_user, require
from tocsin.errors import InvalidInput, NotFound
from tocsin.http import params
from tocsin.http.pagination import page
from tocsin.http.runtime import Runtime, runtime
from tocsin.incidents import logic
from tocsin.incidents.models import Alert, Incident, LogEntry
from tocsin.incidents.queries import fill_context, get_incident
from tocsin.incidents.schemas import IncidentUpdateBody
from tocsin.incidents.wire import Context, alert_json, incident_json, log_entry_json

router = APIRouter(tags=["Incidents"])
READ = Depends(require("incidents.read"))
WRITE = require("incidents.write")
DEFAULT_WINDOW = timedelta(days=30)
STATUSES = {"triggered", "acknowledged", "resolved"}
URGENCY_ORDER = case((Incident.urgency == "high", 1), else_=0)
SORTS = {
    "incident_number": Incident.number,
    "created_at": Incident.created_at,
    "resolved_at": Incident.resolved_at,
    "urgency": URGENCY_ORDER,
}


def _window(request: Request, rt: Runtime, column: Any) -> list[Any]:
    """PagerDuty's date filter: ``since``/``until``, ``date_range=all``, else the last 30 days."""
    if request.query_params.get("date_range") == "all":
        return []
    since = params.optional_datetime(request, "since")
    until = params.optional_datetime(request, "until")
    if since is None and until is None:
        since = rt.clock.now() - DEFAULT_WINDOW
    if since and until and since > until:
        raise InvalidInput(errors=["since must be before until"])
    return [c for c in (column >= since if since else None, column < until if until else None) if c is not None]


@router.get("/incidents", dependencies=[READ])
async def list_incidents(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    where = _window(request, rt, Incident.created_at)
    statuses = params.array(request, "statuses")
    if set(statuses) - STATUSES:
        raise InvalidInput(errors=[f"statuses must be among {sorted(STATUSES)}"])
    if statuses:
        where.append(Incident.status.in_(statuses))
    if service_ids := params.array(request, "service_ids"):
        where.append(Incident.service_id.in_(service_ids))
    if urgencies := params.array(request, "urgencies"):
        where.append(Incident.urgency.in_(urgencies))
    if incident_key := request.query_params.get("incident_key"):
        where.append(Incident.incident_key == incident_key)
    field, descending = params.sort_by(request, set(SORTS), "created_at")
    column = SORTS[field]
    query = select(Incident).where(*where).order_by(column.desc() if descending else column.asc(), Incident.number)
    ctx = Context(rt.base_url, params.time_zone(request))
    async with rt.db.transaction() as session:
        rows, total = await p.fetch(session, query)
        await fill_context(session, ctx, rows)
    items = [incident_json(ctx, i) for i in rows]
    return p.body("incidents", items, total, p.offset + len(items) < total)


@router.get("/incidents/{incident_id}", dependencies=[READ])
async def get_one(incident_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    ctx = Context(rt.base_url, params.time_zone(request))
    async with rt.db.transaction() as session:
        incident = await get_incident(session, incident_id)
        await fill_context(session, ctx, [incident])
    return {"incident": incident_json(ctx, incident)}


@router.put("/incidents/{incident_id}")
async def update_one(
    incident_id: str,
    body: IncidentUpdateBody,
    request: Request,
    principal: Principal = Depends(WRITE),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    user = await acting_user(request, principal, rt)
    ctx = Context(rt.base_url)
    async with rt.db.transaction() as session:
        incident = await logic.update_incident(session, incident_id, body.incident, user.id, rt.clock.now())
        await fill_context(session, ctx, [incident])
    return {"incident": incident_json(ctx, incident)}


@router.get("/incidents/{incident_id}/alerts", dependencies=[READ])
async def list_alerts(incident_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    where = [Alert.incident_id == incident_id]
    if statuses := params.array(request, "statuses"):
        where.append(Alert.status.in_(statuses))
    if alert_key := request.query_params.get("alert_key"):
        where.append(Alert.dedup_key == alert_key)
    ctx = Context(rt.base_url, params.time_zone(request))
    async with rt.db.transaction() as session:
        incident = await get_incident(session, incident_id)
        rows, total = await p.fetch(session, select(Alert).where(*where).order_by(Alert.created_at, Alert.id))
        await fill_context(session, ctx, [incident])
    items = [alert_json(ctx, a, incident) for a in rows]
    return p.body("alerts", items, total, p.offset + len(items) < total)


@router.get("/incidents/{incident_id}/log_entries", dependencies=[READ])
async def incident_log(incident_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    where = [LogEntry.incident_id == incident_id, *_window_or_all(request, rt)]
    ctx = Context(rt.base_url, params.time_zone(request))
    async with rt.db.transaction() as session:
        incident = await get_incident(session, incident_id)
        query = select(LogEntry).where(*where).order_by(LogEntry.created_at.desc(), LogEntry.id)
        rows, total = await p.fetch(session, query)
        await fill_context(session, ctx, [incident], [r.agent for r in rows])
    items = [log_entry_json(ctx, e, incident) for e in rows]
    return p.body("log_entries", items, total, p.offset + len(items) < total)


def _window_or_all(request: Request, rt: Runtime) -> list[Any]:
    """An incident's own log is shown whole unless a window is asked for."""
    if "since" in request.query_params or "until" in request.query_params:
        return _window(request, rt, LogEntry.created_at)
    return []


@router.get("/log_entries", dependencies=[READ])
async def list_log_entries(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    where = _window(request, rt, LogEntry.created_at)
    ctx = Context(rt.base_url, params.time_zone(request))
    async with rt.db.transaction() as session:
        query = select(LogEntry).where(*where).order_by(LogEntry.created_at.desc(), LogEntry.id)
        rows, total = await p.fetch(session, query)
        incidents = {
            i.id: i for i in (await session.execute(
                select(Incident).where(Incident.id.in_({r.incident_id for r in rows}))
            )).scalars()
        }
        await fill_context(session, ctx, list(incidents.values()), [r.agent for r in rows])
    items = [log_entry_json(ctx, e, incidents.get(e.incident_id)) for e in rows]
    return p.body("log_entries", items, total, p.offset + len(items) < total)


@router.get("/log_entries/{log_entry_id}", dependencies=[READ])
async def get_log_entry(log_entry_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    ctx = Context(rt.base_url, params.time_zone(request))
    async with rt.db.transaction() as session:
        entry = await session.get(LogEntry, log_entry_id)
        if entry is None:
            raise NotFound(errors=["Log entry not found"])
        incident = await get_incident(session, entry.incident_id)
        await fill_context(session, ctx, [incident], [entry.agent])
    return {"log_entry": log_entry_json(ctx, entry, incident)}
