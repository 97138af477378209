"""REST routes: /incidents (with notes, snooze, merge, alerts and log entries), /log_entries
and /priorities."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import case, select

from tocsin.audit.recorder import record
from tocsin.auth.access import Principal, acting_user, audit_actor, require
from tocsin.errors import AccessDenied, InvalidInput, NotFound, TooManyItems
from tocsin.escalation.queries import policy_ids_for_teams
from tocsin.http import params
from tocsin.http.pagination import page
from tocsin.http.runtime import Runtime, runtime
from tocsin.incidents import logic
from tocsin.incidents.models import Alert, Incident, IncidentAssignment, IncidentNote, LogEntry, Priority
from tocsin.incidents.queries import fill_context, get_incident, get_priority, lock_incidents
from tocsin.incidents.schemas import (
    MAX_BULK,
    AlertBulkBody,
    AlertBulkItem,
    AlertUpdateBody,
    IncidentBulkBody,
    IncidentBulkItem,
    IncidentCreateBody,
    IncidentUpdateBody,
    MergeBody,
    NoteBody,
    PriorityCreateBody,
    PriorityUpdateBody,
    SnoozeBody,
)
from tocsin.incidents.wire import (
    INCLUDES,
    Context,
    alert_json,
    incident_json,
    incident_ref,
    log_entry_json,
    note_json,
    priority_json,
)

router = APIRouter(tags=["Incidents"])
READ = Depends(require("incidents.read"))
WRITE = require("incidents.write")
PRIORITIES_READ = Depends(require("priorities.read"))
PRIORITIES_WRITE = require("priorities.write")
ADMIN_ROLES = {"admin", "owner"}
DEFAULT_WINDOW = timedelta(days=30)
STATUSES = {"triggered", "acknowledged", "resolved"}
URGENCIES = {"high", "low"}
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
    urgencies = params.array(request, "urgencies")
    if set(urgencies) - URGENCIES:
        raise InvalidInput(errors=[f"urgencies must be among {sorted(URGENCIES)}"])
    if urgencies:
        where.append(Incident.urgency.in_(urgencies))
    if incident_key := request.query_params.get("incident_key"):
        where.append(Incident.incident_key == incident_key)
    if user_ids := params.array(request, "user_ids"):
        # Resolved incidents are assigned to nobody, as PagerDuty answers this filter.
        assigned = select(IncidentAssignment.incident_id).where(IncidentAssignment.user_id.in_(user_ids))
        where += [Incident.id.in_(assigned), Incident.status != "resolved"]
    field, descending = params.sort_by(request, set(SORTS), "created_at")
    column = SORTS[field]
    query = select(Incident).order_by(column.desc() if descending else column.asc(), Incident.number)
    ctx = _context(request, rt)
    async with rt.db.transaction() as session:
        if team_ids := params.array(request, "team_ids"):
            where.append(Incident.escalation_policy_id.in_(await policy_ids_for_teams(session, team_ids)))
        rows, total = await p.fetch(session, query.where(*where))
        await fill_context(session, ctx, rows)
    items = [incident_json(ctx, i) for i in rows]
    return p.body("incidents", items, total, p.offset + len(items) < total)


def _context(request: Request, rt: Runtime) -> Context:
    includes = frozenset(params.array(request, "include"))
    if unknown := includes - INCLUDES:
        raise InvalidInput(errors=[f"include[] values must be among {sorted(INCLUDES)}; got {sorted(unknown)}"])
    return Context(rt.base_url, params.time_zone(request), includes, rt.clock.now())


async def _render(session: Any, ctx: Context, incidents: list[Incident]) -> list[dict[str, Any]]:
    await fill_context(session, ctx, incidents)
    return [incident_json(ctx, i) for i in incidents]


def _validated(model: type[BaseModel], item: Any, prefix: str) -> Any:
    """One item of a bulk body, its errors named by index (``incidents[2].status: ...``)."""
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        raise InvalidInput(errors=[
            f"{prefix}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else f"{prefix}: {e['msg']}"
            for e in exc.errors()
        ]) from None


@router.post("/incidents", status_code=201)
async def create_one(
    body: IncidentCreateBody, request: Request, principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    user = await acting_user(request, principal, rt)
    ctx = _context(request, rt)
    async with rt.db.transaction() as session:
        incident = await logic.create_incident(session, body.incident, user.id, rt.clock.now())
        [rendered] = await _render(session, ctx, [incident])
    return {"incident": rendered}


@router.put("/incidents")
async def update_many(
    body: IncidentBulkBody, request: Request, principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """All or nothing: every item is validated and applied in one transaction; the first item
    that fails (400 naming ``incidents[n]``, 404 for an unknown id) rolls back the others."""
    if len(body.incidents) > MAX_BULK:
        raise TooManyItems(errors=[f"incidents: at most {MAX_BULK} incidents may be updated at once"])
    items = [_validated(IncidentBulkItem, item, f"incidents[{n}]") for n, item in enumerate(body.incidents)]
    seen: set[str] = set()
    for n, item in enumerate(items):
        if item.id in seen:
            raise InvalidInput(errors=[f"incidents[{n}].id: incident {item.id} is listed twice"])
        seen.add(item.id)
    user = await acting_user(request, principal, rt)
    p = page(request)
    ctx = _context(request, rt)
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        await lock_incidents(session, seen)
        changed = []
        for n, item in enumerate(items):
            try:
                changed.append(await logic.update_incident(session, item.id, item, user.id, now, f"incidents[{n}]"))
            except NotFound:
                raise NotFound(errors=[f"incidents[{n}].id: incident {item.id} not found"]) from None
        rendered = await _render(session, ctx, changed)
    return p.body("incidents", rendered, len(rendered), False)


@router.get("/incidents/{incident_id}", dependencies=[READ])
async def get_one(incident_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    ctx = _context(request, rt)
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
    ctx = _context(request, rt)
    async with rt.db.transaction() as session:
        incident = await logic.update_incident(session, incident_id, body.incident, user.id, rt.clock.now())
        [rendered] = await _render(session, ctx, [incident])
    return {"incident": rendered}


@router.get("/incidents/{incident_id}/notes", dependencies=[READ])
async def list_notes(incident_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    ctx = Context(rt.base_url, params.time_zone(request))
    async with rt.db.transaction() as session:
        await get_incident(session, incident_id)
        notes = list((await session.execute(
            select(IncidentNote).where(IncidentNote.incident_id == incident_id)
            .order_by(IncidentNote.created_at, IncidentNote.id))).scalars())
        await fill_context(session, ctx, [], user_ids={n.user_id for n in notes})
    return {"notes": [note_json(ctx, n) for n in notes]}


@router.post("/incidents/{incident_id}/notes")
async def create_note(
    incident_id: str, body: NoteBody, request: Request, principal: Principal = Depends(WRITE),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """Answers 200, not 201, as PagerDuty does."""
    user = await acting_user(request, principal, rt)
    ctx = Context(rt.base_url)
    async with rt.db.transaction() as session:
        incident = await get_incident(session, incident_id, for_update=True)
        note = await logic.add_note(session, incident, user.id, body.note.content, rt.clock.now())
        await fill_context(session, ctx, [], user_ids=[user.id])
    return {"note": note_json(ctx, note)}


@router.post("/incidents/{incident_id}/snooze", status_code=201)
async def snooze(
    incident_id: str, body: SnoozeBody, request: Request, principal: Principal = Depends(WRITE),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    user = await acting_user(request, principal, rt)
    ctx = _context(request, rt)
    async with rt.db.transaction() as session:
        incident = await logic.snooze(session, incident_id, body.duration, user.id, rt.clock.now())
        [rendered] = await _render(session, ctx, [incident])
    return {"incident": rendered}


@router.put("/incidents/{incident_id}/merge")
async def merge(
    incident_id: str, body: MergeBody, request: Request, principal: Principal = Depends(WRITE),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    user = await acting_user(request, principal, rt)
    ctx = Context(rt.base_url)
    async with rt.db.transaction() as session:
        target = await logic.merge(session, incident_id, [s.id for s in body.source_incidents], user.id, rt.clock.now())
    return {"incident": incident_ref(ctx, target)}


@router.get("/incidents/{incident_id}/alerts/{alert_id}", dependencies=[READ])
async def get_alert(incident_id: str, alert_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    ctx = Context(rt.base_url, params.time_zone(request))
    async with rt.db.transaction() as session:
        incident = await get_incident(session, incident_id)
        alert = await logic.get_alert(session, incident_id, alert_id)
        await fill_context(session, ctx, [incident])
    return {"alert": alert_json(ctx, alert, incident)}


@router.put("/incidents/{incident_id}/alerts/{alert_id}")
async def update_alert(
    incident_id: str, alert_id: str, body: AlertUpdateBody, request: Request,
    principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    user = await acting_user(request, principal, rt)
    ctx = Context(rt.base_url)
    async with rt.db.transaction() as session:
        # Lock the path incident and any incident the alert moves to in id order, as the
        # processor does, so the two cannot deadlock.
        await lock_incidents(session, [incident_id, *([body.alert.incident.id] if body.alert.incident else [])])
        incident = await get_incident(session, incident_id, for_update=True)
        alert = await logic.update_alert(session, incident, alert_id, body.alert, user.id, rt.clock.now())
        owner = await get_incident(session, alert.incident_id)
        await fill_context(session, ctx, [owner])
    return {"alert": alert_json(ctx, alert, owner)}


@router.put("/incidents/{incident_id}/alerts")
async def update_alerts(
    incident_id: str, body: AlertBulkBody, request: Request, principal: Principal = Depends(WRITE),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """All or nothing, like PUT /incidents."""
    if len(body.alerts) > MAX_BULK:
        raise TooManyItems(errors=[f"alerts: at most {MAX_BULK} alerts may be updated at once"])
    items = [_validated(AlertBulkItem, item, f"alerts[{n}]") for n, item in enumerate(body.alerts)]
    user = await acting_user(request, principal, rt)
    p = page(request)
    ctx = Context(rt.base_url)
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        await lock_incidents(session, [incident_id, *(i.incident.id for i in items if i.incident is not None)])
        incident = await get_incident(session, incident_id, for_update=True)
        alerts = []
        for n, item in enumerate(items):
            try:
                alerts.append(await logic.update_alert(session, incident, item.id, item, user.id, now, f"alerts[{n}]"))
            except NotFound:
                raise NotFound(errors=[f"alerts[{n}].id: alert {item.id} not found on this incident"]) from None
        owners = {i.id: i for i in [await get_incident(session, a.incident_id) for a in alerts]}
        await fill_context(session, ctx, list(owners.values()))
    rendered = [alert_json(ctx, a, owners[a.incident_id]) for a in alerts]
    return p.body("alerts", rendered, len(rendered), False)


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


# --- priorities ------------------------------------------------------------------------------

def _require_admin(principal: Principal) -> None:
    """Priorities are account configuration: user keys must belong to an admin or owner
    (account keys act for the account)."""
    if principal.user_id is not None and principal.role not in ADMIN_ROLES:
        raise AccessDenied(errors=["Only an admin or owner may change priorities"])


@router.get("/priorities", dependencies=[PRIORITIES_READ])
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
        priority = await logic.create_priority(session, body.priority, now)
        record(session, audit_actor(principal, request), action="create", resource_type="priority",
               resource_id=priority.id, summary=priority.name, after=logic.priority_snapshot(priority), at=now)
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
        before = logic.priority_snapshot(await get_priority(session, priority_id))
        priority = await logic.update_priority(session, priority_id, body.priority, now)
        record(session, audit_actor(principal, request), action="update", resource_type="priority",
               resource_id=priority.id, summary=priority.name, before=before,
               after=logic.priority_snapshot(priority), at=now)
    return {"priority": priority_json(rt.base_url, priority)}
