"""REST routes: an incident's log entries, and /log_entries across incidents."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.access import require
from tocsin.errors import NotFound
from tocsin.http import includes, params
from tocsin.http.pagination import page
from tocsin.http.params import PAGE, documented
from tocsin.http.runtime import Runtime, runtime
from tocsin.incidents.models import Incident, LogEntry
from tocsin.incidents.queries import fill_log_context, get_incident
from tocsin.incidents.render_context import Context
from tocsin.incidents.wire import log_entry_json

router = APIRouter(tags=["Incidents"])
READ = Depends(require("incidents.read"))
DEFAULT_WINDOW = timedelta(days=30)
# include[] values PagerDuty documents for the log entry routes (tests/api/test_includes.py checks
# them); channels are always shown in full, and log entries name no teams yet.
LOG_ENTRY_INCLUDES = ("incidents", "services", "channels", "teams")
LOG_ENTRY_EXPANDS = {"incidents", "services"}


def _context(request: Request, rt: Runtime) -> Context:
    return Context(rt.base_url, params.time_zone(request),
                   includes.asked(request, LOG_ENTRY_INCLUDES, LOG_ENTRY_EXPANDS), rt.clock.now())


def _window(request: Request, rt: Runtime, column: Any) -> list[Any]:
    return params.date_window(request, rt.clock.now(), column, DEFAULT_WINDOW)


@router.get("/incidents/{incident_id}/log_entries", dependencies=[READ],
            openapi_extra=documented(*PAGE, "since", "until", "date_range", "time_zone"))
async def incident_log(incident_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    where = [LogEntry.incident_id == incident_id, *_window_or_all(request, rt)]
    ctx = _context(request, rt)
    async def load(session: AsyncSession) -> tuple[Incident, tuple[list[LogEntry], int | None, bool]]:
        incident = await get_incident(session, incident_id)
        query = select(LogEntry).where(*where).order_by(LogEntry.created_at.desc(), LogEntry.id)
        page_rows = await p.fetch_page(session, query)
        await fill_log_context(session, ctx, page_rows[0])
        return incident, page_rows

    incident, (rows, total, more) = await rt.db.read(load)
    items = [log_entry_json(ctx, e, incident) for e in rows]
    return p.body("log_entries", items, total, more)


def _window_or_all(request: Request, rt: Runtime) -> list[Any]:
    """An incident's own log is shown whole unless a window is asked for."""
    if "since" in request.query_params or "until" in request.query_params:
        return _window(request, rt, LogEntry.created_at)
    return []


@router.get("/log_entries", dependencies=[READ],
            openapi_extra=documented(*PAGE, "since", "until", "date_range", "time_zone"))
async def list_log_entries(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    where = _window(request, rt, LogEntry.created_at)
    ctx = _context(request, rt)
    async def load(session: AsyncSession) -> tuple[tuple[list[LogEntry], int | None, bool], dict[str, Incident]]:
        query = select(LogEntry).where(*where).order_by(LogEntry.created_at.desc(), LogEntry.id)
        page_rows = await p.fetch_page(session, query)
        return page_rows, await fill_log_context(session, ctx, page_rows[0])

    # The account-wide log is read as often as the incident list: one worker-thread hop on SQLite.
    (rows, total, more), incidents = await rt.db.read(load)
    items = [log_entry_json(ctx, e, incidents.get(e.incident_id)) for e in rows]
    return p.body("log_entries", items, total, more)


@router.get("/log_entries/{log_entry_id}", dependencies=[READ], openapi_extra=documented("time_zone"))
async def get_log_entry(log_entry_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    ctx = _context(request, rt)
    async with rt.db.transaction() as session:
        entry = await session.get(LogEntry, log_entry_id)
        if entry is None:
            raise NotFound(errors=["Log entry not found"])
        incident = await get_incident(session, entry.incident_id)
        await fill_log_context(session, ctx, [entry])
    return {"log_entry": log_entry_json(ctx, entry, incident)}
