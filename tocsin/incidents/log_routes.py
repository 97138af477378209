"""REST routes: an incident's log entries, and /log_entries across incidents."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from tocsin.auth.access import require
from tocsin.errors import NotFound
from tocsin.http import params
from tocsin.http.pagination import page
from tocsin.http.runtime import Runtime, runtime
from tocsin.incidents.models import Incident, LogEntry
from tocsin.incidents.queries import fill_context, get_incident
from tocsin.incidents.wire import Context, log_entry_json

router = APIRouter(tags=["Incidents"])
READ = Depends(require("incidents.read"))
DEFAULT_WINDOW = timedelta(days=30)


def _window(request: Request, rt: Runtime, column: Any) -> list[Any]:
    return params.date_window(request, rt.clock.now(), column, DEFAULT_WINDOW)


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
