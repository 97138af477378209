"""Incident changes made through the REST API, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.errors import IncidentAlreadyResolved
from tocsin.ids import new_id
from tocsin.incidents.models import Alert, Incident, LogEntry
from tocsin.incidents.queries import get_incident
from tocsin.incidents.schemas import IncidentUpdate

API_CHANNEL = {"type": "api"}


def _log(session: AsyncSession, incident: Incident, type_: str, summary: str, agent: dict[str, Any], at: datetime) -> None:
    session.add(LogEntry(
        id=new_id(), type=type_, incident_id=incident.id, service_id=incident.service_id,
        created_at=at, summary=summary, agent=agent, channel=dict(API_CHANNEL),
    ))


def _status_change(incident: Incident, status: str, agent: dict[str, Any], at: datetime) -> None:
    incident.status = status
    incident.last_status_change_at = incident.updated_at = at
    incident.last_status_change_by = agent


async def update_incident(
    session: AsyncSession, incident_id: str, change: IncidentUpdate, user_id: str, at: datetime
) -> Incident:
    incident = await get_incident(session, incident_id, for_update=True)
    agent = {"id": user_id, "type": "user_reference"}
    if change.status is not None:
        await _set_status(session, incident, change.status, agent, at)
    if change.title is not None and change.title != incident.title:
        incident.title = change.title
        incident.updated_at = at
    if change.urgency is not None and change.urgency != incident.urgency:
        incident.urgency = change.urgency
        incident.updated_at = at
        _log(session, incident, "urgency_change_log_entry", f"Urgency changed to {change.urgency}.", agent, at)
    if change.resolution:
        _log(session, incident, "annotate_log_entry", change.resolution, agent, at)
    await session.flush()
    return incident


async def _set_status(session: AsyncSession, incident: Incident, status: str, agent: dict[str, Any], at: datetime) -> None:
    current = incident.status
    if status == "resolved":
        if current == "resolved":
            raise IncidentAlreadyResolved(errors=["Incident Already Resolved"])
        _status_change(incident, "resolved", agent, at)
        incident.resolved_at = at
        incident.assignments = []
        # Resolving an incident resolves its alerts, which frees their dedup keys.
        await session.execute(
            update(Alert).where(Alert.incident_id == incident.id, Alert.status != "resolved")
            .values(status="resolved", resolved_at=at)
        )
        _log(session, incident, "resolve_log_entry", "Resolved through the API.", agent, at)
    elif status == "acknowledged":
        if current == "resolved":
            _reopen(session, incident, agent, at)
        incident.acknowledgements = [*incident.acknowledgements, {"at": at.isoformat(), "acknowledger": agent}]
        _status_change(incident, "acknowledged", agent, at)
        _log(session, incident, "acknowledge_log_entry", "Acknowledged through the API.", agent, at)
    elif status == "triggered":
        if current == "resolved":
            _reopen(session, incident, agent, at)
        elif current == "acknowledged":
            _log(session, incident, "unacknowledge_log_entry", "Unacknowledged through the API.", agent, at)
        incident.acknowledgements = []
        _status_change(incident, "triggered", agent, at)


def _reopen(session: AsyncSession, incident: Incident, agent: dict[str, Any], at: datetime) -> None:
    """Setting triggered or acknowledged on a resolved incident reopens it (SPEC-NOTES 3)."""
    incident.resolved_at = None
    incident.acknowledgements = []
    _log(session, incident, "trigger_log_entry", "Reopened through the API.", agent, at)
