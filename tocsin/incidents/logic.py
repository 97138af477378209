"""Incident changes made through the REST API, in the caller's transaction.

Every change writes the log entry PagerDuty writes for it, with the acting user as its agent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db import sequences
from tocsin.errors import IncidentAlreadyResolved, InvalidInput, NotFound
from tocsin.escalation.queries import existing_policy_ids, level_count, on_call_user_ids, policy_refs
from tocsin.ids import new_id
from tocsin.incidents.ingest import INCIDENT_NUMBERS
from tocsin.incidents.models import Alert, Incident, IncidentAssignment, IncidentNote, LogEntry, Priority
from tocsin.incidents.queries import (
    get_incident,
    get_priority,
    live_service,
    open_incident_with_key,
    priority_by_name,
)
from tocsin.incidents.schemas import AssignmentIn, IncidentCreate, IncidentUpdate, PriorityReferenceIn
from tocsin.users.queries import existing_user_ids, user_refs

API_CHANNEL = {"type": "api"}
DUPLICATE_KEY = "Open incident with matching dedup key already exists on this service"


def agent_of(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "type": "user_reference"}


def write_log(
    session: AsyncSession, incident: Incident, type_: str, summary: str, agent: dict[str, Any] | None,
    at: datetime, *, alert_id: str | None = None, channel: dict[str, Any] | None = None,
) -> None:
    # Entries written by one request share its instant; a microsecond apart each keeps the
    # order they happened in (trigger before assign) when the log is sorted by time.
    stamps = session.info.setdefault("log_stamps", {})
    last = stamps.get(incident.id)
    if last is not None and at <= last:
        at = last + timedelta(microseconds=1)
    stamps[incident.id] = at
    session.add(LogEntry(
        id=new_id(), type=type_, incident_id=incident.id, alert_id=alert_id, service_id=incident.service_id,
        created_at=at, summary=summary, agent=agent, channel=channel or dict(API_CHANNEL),
    ))


def _status_change(incident: Incident, status: str, agent: dict[str, Any], at: datetime) -> None:
    incident.status = status
    incident.last_status_change_at = incident.updated_at = at
    incident.last_status_change_by = agent


# --- assignments ----------------------------------------------------------------------------

async def set_assignments(session: AsyncSession, incident: Incident, user_ids: list[str], at: datetime) -> None:
    """Replace who the incident is assigned to: the rendered list on the incident and the
    ``incident_assignments`` rows ``user_ids[]`` filters on, always together."""
    user_ids = list(dict.fromkeys(user_ids))
    incident.assignments = [{"at": at.isoformat(), "assignee": agent_of(u)} for u in user_ids]
    await session.execute(delete(IncidentAssignment).where(IncidentAssignment.incident_id == incident.id))
    if user_ids:
        await session.execute(insert(IncidentAssignment), [
            {"incident_id": incident.id, "user_id": u, "at": at} for u in user_ids])


async def _names(session: AsyncSession, user_ids: list[str]) -> str:
    facts = await user_refs(session, user_ids)
    return ", ".join(facts[u].name if u in facts else u for u in user_ids) or "nobody"


async def _checked_assignees(session: AsyncSession, assignments: list[AssignmentIn], field: str) -> list[str]:
    ids = [a.assignee.id for a in assignments]
    known = await existing_user_ids(session, ids)
    bad = [f"{field}[{n}].assignee: user {uid} not found" for n, uid in enumerate(ids) if uid not in known]
    if bad:
        raise InvalidInput(errors=bad)
    return list(dict.fromkeys(ids))


async def _checked_policy(session: AsyncSession, policy_id: str, field: str) -> str:
    if policy_id not in await existing_policy_ids(session, [policy_id]):
        raise InvalidInput(errors=[f"{field}: escalation policy {policy_id} not found"])
    return policy_id


async def _assign_level(
    session: AsyncSession, incident: Incident, level: int, agent: dict[str, Any] | None, at: datetime,
    log_type: str,
) -> None:
    """Assign the on-call users of ``level`` of the incident's policy and log it."""
    assert incident.escalation_policy_id is not None
    incident.escalation_level = level
    users = await on_call_user_ids(session, incident.escalation_policy_id, level, at)
    await set_assignments(session, incident, users, at)
    names = await _names(session, users)
    if log_type == "escalate_log_entry":
        summary = f"Escalated to level {level} ({names})."
    elif log_type == "reassign_log_entry":
        policy = (await policy_refs(session, [incident.escalation_policy_id])).get(incident.escalation_policy_id)
        summary = f"Reassigned to escalation policy {policy or incident.escalation_policy_id} ({names})."
    else:
        summary = f"Assigned to {names}."
    write_log(session, incident, log_type, summary, agent, at)


# --- priorities ------------------------------------------------------------------------------

async def _resolve_priority(session: AsyncSession, value: PriorityReferenceIn | str, field: str) -> Priority:
    if isinstance(value, str):
        found = await priority_by_name(session, value)
        if found is None:
            raise InvalidInput(errors=[f"{field}: no priority is named {value!r}"])
        return found
    try:
        return await get_priority(session, value.id)
    except NotFound:
        raise InvalidInput(errors=[f"{field}: priority {value.id} not found"]) from None


async def _set_priority(
    session: AsyncSession, incident: Incident, priority: Priority | None, agent: dict[str, Any], at: datetime
) -> None:
    new = priority.id if priority is not None else None
    if new == incident.priority_id:
        return
    incident.priority_id = new
    incident.updated_at = at
    summary = f"Priority changed to {priority.name}." if priority is not None else "Priority removed."
    write_log(session, incident, "priority_change_log_entry", summary, agent, at)


# --- create ----------------------------------------------------------------------------------

async def _lock_key(session: AsyncSession, service_id: str, key: str) -> None:
    """PostgreSQL: serialise creations with one service+key so two concurrent POSTs cannot both
    pass the duplicate check. (SQLite's REST writes already share one connection.)"""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"incident:{service_id}:{key}"})


async def create_incident(session: AsyncSession, data: IncidentCreate, user_id: str, at: datetime) -> Incident:
    agent = agent_of(user_id)
    service = await live_service(session, data.service.id)
    if service is None:
        raise InvalidInput(errors=[f"incident.service: service {data.service.id} not found"])
    if data.incident_key:
        await _lock_key(session, service.id, data.incident_key)
        if await open_incident_with_key(session, service.id, data.incident_key):
            raise InvalidInput(errors=[DUPLICATE_KEY])
    priority = await _resolve_priority(session, data.priority, "incident.priority") if data.priority else None
    assignees = await _checked_assignees(session, data.assignments, "incident.assignments") if data.assignments else []
    policy_id: str | None
    if data.escalation_policy is not None:
        policy_id = await _checked_policy(session, data.escalation_policy.id, "incident.escalation_policy")
    else:
        policy_id = service.escalation_policy_id
    [number] = await session.run_sync(lambda s: sequences.take_sync(s, INCIDENT_NUMBERS, 1))
    incident = Incident(
        id=new_id(), number=number, title=data.title, description=data.title, status="triggered",
        urgency=data.urgency or "high", service_id=service.id, incident_key=data.incident_key or new_id(),
        escalation_policy_id=policy_id, priority_id=priority.id if priority else None,
        acknowledgements=[], assignments=[], created_at=at, updated_at=at, last_status_change_at=at,
        last_status_change_by=agent, escalation_level=1,
        details=data.body.details if data.body else None,
        conference_bridge=data.conference_bridge.model_dump(exclude_none=True) if data.conference_bridge else None,
    )
    session.add(incident)
    await session.flush()
    write_log(session, incident, "trigger_log_entry", "Triggered through the API.", agent, at)
    if assignees:
        await set_assignments(session, incident, assignees, at)
        write_log(session, incident, "assign_log_entry", f"Assigned to {await _names(session, assignees)}.", agent, at)
    elif incident.escalation_policy_id:
        await _assign_level(session, incident, 1, agent, at, "assign_log_entry")
    await session.flush()
    return incident


# --- update ----------------------------------------------------------------------------------

async def update_incident(
    session: AsyncSession, incident_id: str, change: IncidentUpdate, user_id: str, at: datetime,
    field: str = "incident",
) -> Incident:
    incident = await get_incident(session, incident_id, for_update=True)
    agent = agent_of(user_id)
    sent = change.model_fields_set
    # Reopening to triggered applies the request's assignees or policy itself (below not again).
    reopening = change.status == "triggered" and incident.status == "resolved"
    if change.status is not None:
        await _set_status(session, incident, change, agent, at, field)
    if change.title is not None and change.title != incident.title:
        incident.title = incident.description = change.title
        incident.updated_at = at
    if change.urgency is not None and change.urgency != incident.urgency:
        incident.urgency = change.urgency
        incident.updated_at = at
        write_log(session, incident, "urgency_change_log_entry", f"Urgency changed to {change.urgency}.", agent, at)
    if "priority" in sent:
        priority = await _resolve_priority(session, change.priority, f"{field}.priority") if change.priority else None
        await _set_priority(session, incident, priority, agent, at)
    if "conference_bridge" in sent:
        incident.conference_bridge = (
            change.conference_bridge.model_dump(exclude_none=True) if change.conference_bridge else None)
        incident.updated_at = at
    if not (reopening and (change.assignments or change.escalation_policy)):
        await _reassign(session, incident, change, agent, at, field)
    await session.flush()
    return incident


async def _reassign(
    session: AsyncSession, incident: Incident, change: IncidentUpdate, agent: dict[str, Any], at: datetime,
    field: str,
) -> None:
    if change.assignments is None and change.escalation_policy is None and change.escalation_level is None:
        return
    if incident.status == "resolved":
        raise IncidentAlreadyResolved(errors=["Incident Already Resolved"])
    if change.assignments:
        users = await _checked_assignees(session, change.assignments, f"{field}.assignments")
        await set_assignments(session, incident, users, at)
        incident.updated_at = at
        write_log(session, incident, "reassign_log_entry", f"Reassigned to {await _names(session, users)}.", agent, at)
    elif change.escalation_policy is not None:
        incident.escalation_policy_id = await _checked_policy(
            session, change.escalation_policy.id, f"{field}.escalation_policy")
        incident.updated_at = at
        await _assign_level(session, incident, 1, agent, at, "reassign_log_entry")
    if change.escalation_level is not None:
        await _escalate(session, incident, change.escalation_level, agent, at, field)
    if change.status is None and incident.status == "acknowledged":
        # Reassigning or escalating hands the incident to someone new: it pages again.
        incident.acknowledgements = []
        incident.snoozed_until = None
        _status_change(incident, "triggered", agent, at)


async def _escalate(
    session: AsyncSession, incident: Incident, level: int, agent: dict[str, Any], at: datetime, field: str
) -> None:
    if incident.escalation_policy_id is None:
        raise InvalidInput(errors=[f"{field}.escalation_level: the incident has no escalation policy"])
    levels = await level_count(session, incident.escalation_policy_id)
    if not 1 <= level <= levels:
        raise InvalidInput(errors=[f"{field}.escalation_level must be between 1 and {levels}"])
    incident.updated_at = at
    await _assign_level(session, incident, level, agent, at, "escalate_log_entry")


async def _set_status(
    session: AsyncSession, incident: Incident, change: IncidentUpdate, agent: dict[str, Any], at: datetime,
    field: str,
) -> None:
    status, current = change.status, incident.status
    if status == "resolved":
        if current == "resolved":
            raise IncidentAlreadyResolved(errors=["Incident Already Resolved"])
        await resolve(session, incident, agent, at, "Resolved through the API.")
        if change.resolution:
            # PagerDuty keeps the resolution as a note on the incident.
            await add_note(session, incident, agent["id"], change.resolution, at, log=False)
    elif status == "acknowledged":
        if current == "resolved":
            await _reopen(session, incident, agent, at)
            # Reopened to acknowledged: PagerDuty assigns it to the acting user.
            await set_assignments(session, incident, [agent["id"]], at)
        incident.acknowledgements = [*incident.acknowledgements, {"at": at.isoformat(), "acknowledger": agent}]
        _status_change(incident, "acknowledged", agent, at)
        write_log(session, incident, "acknowledge_log_entry", "Acknowledged through the API.", agent, at)
    elif status == "triggered":
        if current == "triggered":
            return  # already triggered: nothing changes, nothing is logged
        if current == "resolved":
            await _reopen(session, incident, agent, at)
            _status_change(incident, "triggered", agent, at)
            await _assign_reopened(session, incident, change, agent, at, field)
        elif current == "acknowledged":
            write_log(session, incident, "unacknowledge_log_entry", "Unacknowledged through the API.", agent, at)
        incident.acknowledgements = []
        incident.snoozed_until = None
        _status_change(incident, "triggered", agent, at)


async def _assign_reopened(
    session: AsyncSession, incident: Incident, change: IncidentUpdate, agent: dict[str, Any], at: datetime,
    field: str,
) -> None:
    """Reopened to triggered: the request's assignees or policy, else the current policy."""
    if change.assignments:
        users = await _checked_assignees(session, change.assignments, f"{field}.assignments")
        await set_assignments(session, incident, users, at)
        write_log(session, incident, "assign_log_entry", f"Assigned to {await _names(session, users)}.", agent, at)
        return
    if change.escalation_policy is not None:
        incident.escalation_policy_id = await _checked_policy(
            session, change.escalation_policy.id, f"{field}.escalation_policy")
    if incident.escalation_policy_id:
        await _assign_level(session, incident, 1, agent, at, "assign_log_entry")


async def resolve(session: AsyncSession, incident: Incident, agent: dict[str, Any], at: datetime, summary: str,
                  *, log_type: str = "resolve_log_entry") -> None:
    _status_change(incident, "resolved", agent, at)
    incident.resolved_at = at
    incident.snoozed_until = None
    await set_assignments(session, incident, [], at)
    # Resolving an incident resolves its alerts, which frees their dedup keys.
    await session.execute(
        update(Alert).where(Alert.incident_id == incident.id, Alert.status != "resolved")
        .values(status="resolved", resolved_at=at)
    )
    write_log(session, incident, log_type, summary, agent, at)


async def _reopen(session: AsyncSession, incident: Incident, agent: dict[str, Any], at: datetime) -> None:
    """Setting triggered or acknowledged on a resolved incident reopens it (SPEC-NOTES 3).
    Starts unassigned (an event resolve leaves stale assignment rows); the caller assigns."""
    await set_assignments(session, incident, [], at)
    incident.resolved_at = None
    incident.acknowledgements = []
    incident.snoozed_until = None  # an event resolve leaves the old snooze behind
    incident.escalation_level = 1
    write_log(session, incident, "trigger_log_entry", "Reopened through the API.", agent, at)


# --- notes, snooze, merge --------------------------------------------------------------------

async def add_note(
    session: AsyncSession, incident: Incident, user_id: str, content: str, at: datetime, *, log: bool = True
) -> IncidentNote:
    note = IncidentNote(id=new_id(), incident_id=incident.id, user_id=user_id, content=content, created_at=at)
    session.add(note)
    if log:
        write_log(session, incident, "annotate_log_entry", content, agent_of(user_id), at)
    await session.flush()
    return note


async def snooze(session: AsyncSession, incident_id: str, duration: int, user_id: str, at: datetime) -> Incident:
    """Only acknowledged incidents snooze. The snooze end re-triggers the incident: the engine
    (next issue) runs that timer from ``snoozed_until``; until then it is shown as the
    ``unacknowledge`` pending action."""
    incident = await get_incident(session, incident_id, for_update=True)
    if incident.status != "acknowledged":
        raise InvalidInput(errors=["Incident must be acknowledged to be snoozed"])
    incident.snoozed_until = at + timedelta(seconds=duration)
    incident.updated_at = at
    write_log(session, incident, "snooze_log_entry", f"Snoozed for {duration} seconds.", agent_of(user_id), at)
    await session.flush()
    return incident
