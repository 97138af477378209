"""Incident changes made through the REST API, in the caller's transaction.

Every state change goes through the transition seam (``transitions`` decides, ``transition_writer``
writes it and its log entries), with the acting user as its agent. What stays here is checking
the request: known users, policies and priorities, allowed levels.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db import sequences
from tocsin.errors import IncidentAlreadyResolved, InvalidInput, NotFound
from tocsin.escalation.queries import assign_level, existing_policy_ids, level_count
from tocsin.http.wiring import FrozenLevels
from tocsin.ids import new_id
from tocsin.incidents.models import INCIDENT_NUMBERS, Incident, IncidentNote, Priority
from tocsin.incidents.queries import (
    get_incident,
    get_priority,
    live_service,
    open_incident_with_key,
    priority_by_name,
)
from tocsin.incidents.schemas import (
    AssignmentIn,
    IncidentCreate,
    IncidentUpdate,
    PriorityReferenceIn,
)
from tocsin.incidents.transition_records import (
    Acknowledge,
    Annotate,
    Delegate,
    Escalate,
    Open,
    Reassign,
    Record,
    Reopen,
    Resolve,
    SetConferenceBridge,
    SetPriority,
    SetTitle,
    SetUrgency,
    Snooze,
    Unacknowledge,
)
from tocsin.incidents.transition_writer import api_act, change, user_ref
from tocsin.users.queries import existing_user_ids

# The log entries' channel of a change: None is the REST API's; the web UI passes its own.
Via = dict[str, Any] | None
DUPLICATE_KEY = "Open incident with matching dedup key already exists on this service"
agent_of = user_ref



# --- assignments ----------------------------------------------------------------------------

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


async def first_level(session: AsyncSession, policy_id: str | None, at: datetime) -> tuple[str, ...] | None:
    """Who level 1 of the policy assigns at ``at`` (a round-robin level: whose turn it is); None
    when there is no policy (no assignment)."""
    if not policy_id:
        return None
    return await assign_level(session, policy_id, 1, at)


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


# --- create ----------------------------------------------------------------------------------

async def _lock_key(session: AsyncSession, service_id: str, key: str) -> None:
    """PostgreSQL: serialise creations with one service+key so two concurrent POSTs cannot both
    pass the duplicate check. (SQLite's REST writes already share one connection.)"""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"incident:{service_id}:{key}"})


async def create_incident(session: AsyncSession, data: IncidentCreate, user_id: str, at: datetime,
                          via: Via = None) -> Incident:
    agent = agent_of(user_id)
    service = await live_service(session, data.service.id)
    if service is None:
        raise InvalidInput(errors=[f"incident.service: service {data.service.id} not found"])
    if service.status == "disabled":  # PagerDuty: a disabled service has no new triggered incidents
        raise InvalidInput(errors=[f"incident.service: service {service.id} is disabled and opens no new incidents"])
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
    users = tuple(assignees) if assignees else await first_level(session, policy_id, at)
    await change(session, incident, Open(assignees=users), api_act(agent, at, via=via))
    await session.flush()
    return incident


# --- update ----------------------------------------------------------------------------------

async def update_incident(
    session: AsyncSession, incident_id: str, update: IncidentUpdate, user_id: str, at: datetime,
    field: str = "incident", via: Via = None, levels: FrozenLevels | None = None,
) -> Incident:
    """``via``: the log entries' channel when not the REST API (the web UI passes its own).
    ``levels``: who a manual ``escalation_level`` assigns by the incident's frozen path (the
    engine's, ``Wiring.frozen_levels``); without it, or for a request that also changes the
    policy, the live policy decides."""
    incident = await get_incident(session, incident_id, for_update=True)
    agent = agent_of(user_id)
    sent = update.model_fields_set
    # Reopening to triggered applies the request's assignees or policy itself (below not again).
    reopening = update.status == "triggered" and incident.status == "resolved"
    if update.status in ("triggered", "acknowledged") and incident.status == "resolved":
        await _refuse_reopening_on_disabled_service(session, incident, field)
    if update.status is not None:
        await _set_status(session, incident, update, agent, at, field, via)
    if update.title is not None:
        await change(session, incident, SetTitle(update.title), api_act(agent, at, via=via))
    if update.urgency is not None:
        await change(session, incident, SetUrgency(update.urgency), api_act(agent, at, via=via))
    if "priority" in sent:
        priority = await _resolve_priority(session, update.priority, f"{field}.priority") if update.priority else None
        await change(session, incident, SetPriority(priority.id if priority else None), api_act(agent, at, via=via))
    if "conference_bridge" in sent:
        bridge = update.conference_bridge.model_dump(exclude_none=True) if update.conference_bridge else None
        await change(session, incident, SetConferenceBridge(bridge), api_act(agent, at, via=via))
    if not (reopening and (update.assignments or update.escalation_policy)):
        await _reassign(session, incident, update, agent, at, field, via,
                        levels if update.escalation_policy is None else None)
    elif update.escalation_level is not None:
        # The reopen assigned the request's assignees or policy; PagerDuty's escalation_level
        # ("escalate the incident to this level") then applies on top, as it does without a reopen.
        await _escalate(session, incident, update.escalation_level, agent, at, field, retrigger=False, via=via)
    await session.flush()
    return incident


async def _refuse_reopening_on_disabled_service(session: AsyncSession, incident: Incident, field: str) -> None:
    """A disabled service has no new triggered incidents (PagerDuty); reopening one of its
    incidents would page as a new one would, so it is refused too (acknowledge and resolve work)."""
    service = await live_service(session, incident.service_id)
    if service is not None and service.status == "disabled":
        raise InvalidInput(errors=[
            f"{field}.status: service {service.id} is disabled; its incidents cannot be reopened"])


async def _reassign(
    session: AsyncSession, incident: Incident, update: IncidentUpdate, agent: dict[str, Any], at: datetime,
    field: str, via: Via, levels: FrozenLevels | None = None,
) -> None:
    if update.assignments is None and update.escalation_policy is None and update.escalation_level is None:
        return
    if incident.status == "resolved":
        raise IncidentAlreadyResolved(errors=["Incident Already Resolved"])
    # Handing an acknowledged incident to someone new pages again, unless the request set a status.
    retrigger = update.status is None
    if update.assignments:
        users = await _checked_assignees(session, update.assignments, f"{field}.assignments")
        await change(session, incident, Reassign(tuple(users), retrigger), api_act(agent, at, via=via))
    elif update.escalation_policy is not None:
        policy_id = await _checked_policy(session, update.escalation_policy.id, f"{field}.escalation_policy")
        users = list(await first_level(session, policy_id, at) or ())
        await change(session, incident, Delegate(policy_id, tuple(users), retrigger), api_act(agent, at, via=via))
    if update.escalation_level is not None:
        await _escalate(session, incident, update.escalation_level, agent, at, field, retrigger, via, levels)


async def _escalate(
    session: AsyncSession, incident: Incident, level: int, agent: dict[str, Any], at: datetime, field: str,
    retrigger: bool, via: Via = None, levels: FrozenLevels | None = None,
) -> None:
    if incident.escalation_policy_id is None:
        raise InvalidInput(errors=[f"{field}.escalation_level: the incident has no escalation policy"])
    frozen = None if levels is None else await levels(session, incident.id, level, at)
    count = frozen.levels if frozen is not None else await level_count(session, incident.escalation_policy_id)
    if not 1 <= level <= count:
        raise InvalidInput(errors=[f"{field}.escalation_level must be between 1 and {count}"])
    users = frozen.users if frozen is not None else await assign_level(session, incident.escalation_policy_id,
                                                                        level, at)
    await change(session, incident, Escalate(level, users, retrigger), api_act(agent, at, via=via))


async def _set_status(
    session: AsyncSession, incident: Incident, update: IncidentUpdate, agent: dict[str, Any], at: datetime,
    field: str, via: Via,
) -> None:
    status, current = update.status, incident.status
    if status == "resolved":
        if current == "resolved":
            raise IncidentAlreadyResolved(errors=["Incident Already Resolved"])
        said = "Resolved through the API." if via is None else "Resolved in the web UI."
        await resolve(session, incident, agent, at, said, via=via)
        if update.resolution:
            # PagerDuty keeps the resolution as a note on the incident.
            await add_note(session, incident, agent["id"], update.resolution, at, log=False, via=via)
    elif status == "acknowledged":
        if current == "resolved":
            # Reopened to acknowledged: PagerDuty assigns it to the acting user.
            await change(session, incident, Reopen(assignees=(agent["id"],)), api_act(agent, at, via=via))
        said = "" if via is None else "Acknowledged in the web UI."
        await change(session, incident, Acknowledge(agent), api_act(agent, at, said, via=via))
    elif status == "triggered":
        if current == "resolved":
            await _reopen_triggered(session, incident, update, agent, at, field, via)
        else:
            await change(session, incident, Unacknowledge(), api_act(agent, at, via=via))  # nothing when triggered


async def _reopen_triggered(
    session: AsyncSession, incident: Incident, update: IncidentUpdate, agent: dict[str, Any], at: datetime,
    field: str, via: Via,
) -> None:
    """Reopened to triggered: the request's assignees or policy, else the current policy."""
    policy_id = None
    if update.assignments:
        users: tuple[str, ...] | None = tuple(
            await _checked_assignees(session, update.assignments, f"{field}.assignments"))
    else:
        if update.escalation_policy is not None:
            policy_id = await _checked_policy(session, update.escalation_policy.id, f"{field}.escalation_policy")
        users = await first_level(session, policy_id or incident.escalation_policy_id, at)
    await change(session, incident, Reopen(assignees=users, policy_id=policy_id), api_act(agent, at, via=via))


async def resolve(session: AsyncSession, incident: Incident, agent: dict[str, Any], at: datetime, summary: str,
                  *, alert_id: str | None = None, via: Via = None) -> list[Record]:
    """Resolve the incident (and its open alerts); [] when it was already resolved."""
    return await change(session, incident, Resolve(alert_id), api_act(agent, at, summary, via=via))


# --- notes, snooze ---------------------------------------------------------------------------

async def add_note(
    session: AsyncSession, incident: Incident, user_id: str, content: str, at: datetime, *, log: bool = True,
    via: Via = None,
) -> IncidentNote:
    note = IncidentNote(id=new_id(), incident_id=incident.id, user_id=user_id, content=content, created_at=at)
    session.add(note)
    if log:
        await change(session, incident, Annotate(), api_act(agent_of(user_id), at, content, via=via))
    await session.flush()
    return note


async def snooze(session: AsyncSession, incident_id: str, duration: int, user_id: str, at: datetime,
                 via: Via = None) -> Incident:
    """Only acknowledged incidents snooze. When the snooze ends the engine's clock step returns
    the incident to triggered and its assignees are told again: the planner stores that as the
    incident's ``unacknowledge`` timer (its pending action) in this transaction, replacing any
    acknowledgement timeout."""
    incident = await get_incident(session, incident_id, for_update=True)
    if incident.status != "acknowledged":
        raise InvalidInput(errors=["Incident must be acknowledged to be snoozed"])
    act = api_act(agent_of(user_id), at, f"Snoozed for {duration} seconds.", via=via)
    await change(session, incident, Snooze(at + timedelta(seconds=duration)), act)
    await session.flush()
    return incident
