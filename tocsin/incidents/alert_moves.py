"""Moving alerts between incidents: merging incidents, and resolving or moving one alert.

Both lock every incident involved in id order first (PostgreSQL), as the event processor does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.errors import IncidentAlreadyResolved, InvalidInput, NotFound
from tocsin.incidents import transition_writer
from tocsin.incidents.logic import Via, agent_of, resolve
from tocsin.incidents.models import Alert, Incident
from tocsin.incidents.queries import get_incident, lock_incidents
from tocsin.incidents.schemas import AlertUpdate
from tocsin.incidents.transition_records import Merge, ReceiveAlerts
from tocsin.incidents.transition_writer import api_act


async def merge(session: AsyncSession, target_id: str, source_ids: list[str], user_id: str, at: datetime,
                via: Via = None) -> Incident:
    """Move the sources' alerts to the target; each source resolves, merged into the target (its
    ``resolve_log_entry`` names the target, as PagerDuty lists the reason as "merged").
    ``via``: the log entries' channel when not the REST API (the web UI passes its own)."""
    agent = agent_of(user_id)
    await lock_incidents(session, [target_id, *source_ids])
    target = await get_incident(session, target_id, for_update=True)
    if target.status == "resolved":
        raise IncidentAlreadyResolved(errors=["The target incident is resolved"])
    source_ids = list(dict.fromkeys(source_ids))
    errors = []
    sources: list[Incident] = []
    for n, sid in enumerate(source_ids):
        if sid == target_id:
            errors.append(f"source_incidents[{n}]: an incident cannot be merged into itself")
            continue
        source = await session.get(Incident, sid, with_for_update=True)
        if source is None:
            errors.append(f"source_incidents[{n}]: incident {sid} not found")
        elif source.status == "resolved":
            errors.append(f"source_incidents[{n}]: incident {sid} is resolved and cannot be merged")
        else:
            sources.append(source)
    if errors:
        raise InvalidInput(errors=errors)
    for source in sources:
        moved = (await session.execute(select(Alert.id).where(Alert.incident_id == source.id).order_by(Alert.id)))
        alert_ids = tuple(moved.scalars())
        await session.execute(update(Alert).where(Alert.incident_id == source.id).values(incident_id=target.id))
        received = ReceiveAlerts(source.id, alert_ids)
        await transition_writer.change(session, target, received, api_act(agent, at, via=via))
        act = api_act(agent, at, f"Resolved by merging into incident #{target.number}.", via=via)
        await transition_writer.change(session, source, Merge(target.id), act)
    await session.flush()
    return target



async def get_alert(session: AsyncSession, incident_id: str, alert_id: str) -> Alert:
    alert = await session.get(Alert, alert_id)
    if alert is None or alert.incident_id != incident_id:
        raise NotFound(f"Alert {alert_id} not found", errors=["Alert not found"])
    return alert


async def update_alert(
    session: AsyncSession, incident: Incident, alert_id: str, change: AlertUpdate, user_id: str, at: datetime,
    field: str = "alert",
) -> Alert:
    """Resolve an alert or move it to another open incident; when an incident's last open
    alert resolves (or moves away), the incident resolves too. The alert's own change is kept on
    the alert (status, resolved_at, incident); the log records what happened to incidents."""
    agent = agent_of(user_id)
    alert = await get_alert(session, incident.id, alert_id)
    if change.status == "triggered" and alert.status == "resolved":
        raise InvalidInput(errors=[f"{field}.status: a resolved alert cannot be triggered again"])
    if change.incident is not None and change.incident.id != incident.id:
        target = await session.get(Incident, change.incident.id, with_for_update=True)
        if target is None or target.status == "resolved":
            raise InvalidInput(errors=[f"{field}.incident: incident {change.incident.id} not found or resolved"])
        alert.incident_id = target.id
        await transition_writer.change(session, target, ReceiveAlerts(incident.id, (alert.id,)), api_act(agent, at))
    if change.status == "resolved" and alert.status != "resolved":
        alert.status = "resolved"
        alert.resolved_at = at
    await session.flush()
    await _resolve_if_no_open_alerts(session, incident, agent, at, alert.id)
    return alert


async def _resolve_if_no_open_alerts(
    session: AsyncSession, incident: Incident, agent: dict[str, Any], at: datetime, alert_id: str
) -> None:
    if incident.status == "resolved":
        return
    open_alerts = await session.execute(
        select(Alert.id).where(Alert.incident_id == incident.id, Alert.status != "resolved").limit(1))
    if open_alerts.first() is None:
        await resolve(session, incident, agent, at, "Resolved: its last open alert was resolved.", alert_id=alert_id)
        await session.flush()
