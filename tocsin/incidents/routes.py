"""REST routes: /incidents, with notes, snooze, merge and alerts. Its log entries and
/log_entries are in ``log_routes``, /priorities in ``priority_routes``; both are included here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.access import Principal, acting_user, require
from tocsin.errors import InvalidInput, NotFound, TooManyItems
from tocsin.escalation.queries import policy_ids_for_teams
from tocsin.http import includes, params
from tocsin.http.inputs import field_errors
from tocsin.http.pagination import page
from tocsin.http.params import PAGE, documented
from tocsin.http.runtime import Runtime, runtime
from tocsin.incidents import alert_moves, log_routes, logic, priority_routes
from tocsin.incidents.models import Alert, Incident, IncidentAssignment, IncidentNote
from tocsin.incidents.queries import SHALLOW, fill_context, get_incident, lock_incidents, newest_per_status
from tocsin.incidents.render_context import Context
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
    SnoozeBody,
)
from tocsin.incidents.wire import alert_json, incident_json, incident_ref, note_json

router = APIRouter(tags=["Incidents"])
READ = Depends(require("incidents.read"))
WRITE = require("incidents.write")
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
# include[] values PagerDuty documents for each operation (tests/api/test_includes.py checks them).
# Every one is accepted; conference_bridge and priorities are always shown in full, and Tocsin
# has no custom fields to add.
LIST_INCLUDES = ("acknowledgers", "agents", "assignees", "conference_bridge", "escalation_policies",
                 "first_trigger_log_entries", "priorities", "services", "teams", "users")
INCIDENT_INCLUDES = ("acknowledgers", "agents", "assignees", "conference_bridge", "custom_fields",
                     "escalation_policies", "first_trigger_log_entries", "priorities", "services", "teams", "users")
ALERT_INCLUDES = ("services", "first_trigger_log_entries", "incidents")
ALERT_EXPANDS = {"services", "incidents"}  # alerts carry no first trigger log entry yet


def _window(request: Request, rt: Runtime, column: Any) -> list[Any]:
    return params.date_window(request, rt.clock.now(), column, DEFAULT_WINDOW)


@router.get("/incidents", dependencies=[READ],
            openapi_extra=documented(*PAGE, "date_range", "since", "until", "statuses[]", "service_ids[]",
                                     "urgencies[]", "incident_key", "user_ids[]", "team_ids[]", "sort_by",
                                     "include[]", "time_zone"))
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
    if incident_key := params.text_filter(request, "incident_key"):
        where.append(Incident.incident_key == incident_key)
    if user_ids := params.array(request, "user_ids"):
        # Resolved incidents are assigned to nobody, as PagerDuty answers this filter.
        assigned = select(IncidentAssignment.incident_id).where(IncidentAssignment.user_id.in_(user_ids))
        where += [Incident.id.in_(assigned), Incident.status != "resolved"]
    field, descending = params.sort_by(request, set(SORTS), "created_at")
    column = SORTS[field]
    order = (column.desc() if descending else column.asc(), Incident.number)
    ctx = _context(request, rt, LIST_INCLUDES)
    team_ids = params.array(request, "team_ids")

    async def load(session: AsyncSession) -> tuple[list[Incident], int | None, bool]:
        if team_ids:
            where.append(Incident.escalation_policy_id.in_(await policy_ids_for_teams(session, team_ids)))
        counted = select(Incident).where(*where)
        query = counted.order_by(*order)
        if len(set(statuses)) > 1 and field == "created_at" and p.offset + p.limit <= SHALLOW:
            # Only the ids: with the filters repeated here SQLite would scan every match again.
            newest = newest_per_status(set(statuses), where, order, p.offset + p.limit + 1)
            query = select(Incident).where(Incident.id.in_(newest)).order_by(*order)
        page_rows = await p.fetch_page(session, query, counted)
        await fill_context(session, ctx, page_rows[0])
        return page_rows

    # The list is the UI's and dashboards' hottest read: one worker-thread hop on SQLite.
    rows, total, more = await rt.db.read(load)
    items = [incident_json(ctx, i) for i in rows]
    return p.body("incidents", items, total, more)


def _context(request: Request, rt: Runtime, documented: tuple[str, ...] = INCIDENT_INCLUDES) -> Context:
    """Rendering context; writes answer with the incident as ``GET /incidents/{id}`` shows it."""
    return Context(rt.base_url, params.time_zone(request), includes.asked(request, documented), rt.clock.now())


async def _render(
    session: AsyncSession, rt: Runtime, ctx: Context, incidents: list[Incident],
) -> list[dict[str, Any]]:
    """A write's answer: the pending work of its changes is planned first, so the incidents'
    ``pending_actions`` show it (the before-commit hook then has nothing left to plan)."""
    await session.run_sync(rt.wiring.plan_pending_work)
    await fill_context(session, ctx, incidents)
    return [incident_json(ctx, i) for i in incidents]


def _validated(model: type[BaseModel], item: Any, prefix: str) -> Any:
    """One item of a bulk body, its errors named by index (``incidents[2].status: ...``)."""
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        raise InvalidInput(errors=field_errors(exc, prefix)) from None


@router.post("/incidents", status_code=201)
async def create_one(
    body: IncidentCreateBody, request: Request, principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    user = await acting_user(request, principal, rt)
    ctx = _context(request, rt)
    async with rt.db.transaction() as session:
        incident = await logic.create_incident(session, body.incident, user.id, rt.clock.now())
        [rendered] = await _render(session, rt, ctx, [incident])
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
                changed.append(await logic.update_incident(session, item.id, item, user.id, now, f"incidents[{n}]",
                                                           levels=rt.wiring.frozen_levels))
            except NotFound:
                raise NotFound(errors=[f"incidents[{n}].id: incident {item.id} not found"]) from None
        rendered = await _render(session, rt, ctx, changed)
    return p.body("incidents", rendered, len(rendered), False)


@router.get("/incidents/{incident_id}", dependencies=[READ], openapi_extra=documented("include[]", "time_zone"))
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
        incident = await logic.update_incident(session, incident_id, body.incident, user.id, rt.clock.now(),
                                               levels=rt.wiring.frozen_levels)
        [rendered] = await _render(session, rt, ctx, [incident])
    return {"incident": rendered}


@router.get("/incidents/{incident_id}/notes", dependencies=[READ], openapi_extra=documented("time_zone"))
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
        [rendered] = await _render(session, rt, ctx, [incident])
    return {"incident": rendered}


@router.put("/incidents/{incident_id}/merge")
async def merge(
    incident_id: str, body: MergeBody, request: Request, principal: Principal = Depends(WRITE),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    user = await acting_user(request, principal, rt)
    ctx = Context(rt.base_url)
    async with rt.db.transaction() as session:
        target = await alert_moves.merge(session, incident_id, [s.id for s in body.source_incidents], user.id,
                                         rt.clock.now())
    return {"incident": incident_ref(ctx, target)}


@router.get("/incidents/{incident_id}/alerts/{alert_id}", dependencies=[READ], openapi_extra=documented("time_zone"))
async def get_alert(
    incident_id: str, alert_id: str, request: Request, rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    ctx = Context(rt.base_url, params.time_zone(request))
    async with rt.db.transaction() as session:
        incident = await get_incident(session, incident_id)
        alert = await alert_moves.get_alert(session, incident_id, alert_id)
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
        alert = await alert_moves.update_alert(session, incident, alert_id, body.alert, user.id, rt.clock.now())
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
                alerts.append(
                    await alert_moves.update_alert(session, incident, item.id, item, user.id, now, f"alerts[{n}]"))
            except NotFound:
                raise NotFound(errors=[f"alerts[{n}].id: alert {item.id} not found on this incident"]) from None
        owners = {i.id: i for i in [await get_incident(session, a.incident_id) for a in alerts]}
        await fill_context(session, ctx, list(owners.values()))
    rendered = [alert_json(ctx, a, owners[a.incident_id]) for a in alerts]
    return p.body("alerts", rendered, len(rendered), False)


@router.get("/incidents/{incident_id}/alerts", dependencies=[READ],
            openapi_extra=documented(*PAGE, "statuses[]", "alert_key", "time_zone"))
async def list_alerts(incident_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    where = [Alert.incident_id == incident_id]
    if statuses := params.array(request, "statuses"):
        where.append(Alert.status.in_(statuses))
    if alert_key := params.text_filter(request, "alert_key"):
        where.append(Alert.dedup_key == alert_key)
    ctx = Context(rt.base_url, params.time_zone(request), includes.asked(request, ALERT_INCLUDES, ALERT_EXPANDS))
    async with rt.db.transaction() as session:
        incident = await get_incident(session, incident_id)
        rows, total, more = await p.fetch_page(session,
                                               select(Alert).where(*where).order_by(Alert.created_at, Alert.id))
        await fill_context(session, ctx, [incident])
    items = [alert_json(ctx, a, incident) for a in rows]
    return p.body("alerts", items, total, more)


router.include_router(log_routes.router)
router.include_router(priority_routes.router)
