"""ORM rows -> PagerDuty JSON for incidents, alerts and log entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tocsin.http.refs import envelope, reference
from tocsin.incidents.contexts import alert_contexts
from tocsin.incidents.models import URGENCY_CHANGE, Alert, Incident, IncidentNote, LogEntry, Priority
from tocsin.incidents.render_context import Context

AGENT_SUMMARIES = {"service_reference": "Service", "user_reference": "User"}
# Left out when empty. ``priority`` and ``resolved_at`` stay as null, as the live API sends them
# and clients read them directly (``incident["priority"]``).
OPTIONAL_NOT_NULLABLE = ("alert_grouping", "resolve_reason", "conference_bridge", "first_trigger_log_entry")


def priority_json(base: str, priority: Priority) -> dict[str, Any]:
    body = envelope(base, "priority", priority.id, priority.name)
    body.update(name=priority.name, description=priority.description or "", color=priority.color,
                order=priority.position)
    return body


def note_json(ctx: Context, note: IncidentNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "user": ctx.user_ref(note.user_id),
        "channel": {"summary": "The PagerDuty website or APIs", "type": "web_api"},
        "content": note.content,
        "created_at": ctx.time(note.created_at),
        "updated_at": ctx.time(note.created_at),
    }


def incident_ref(ctx: Context, incident: Incident) -> dict[str, Any]:
    return reference(ctx.base, "incident", incident.id, f"[#{incident.number}] {incident.title}")


def _incident(ctx: Context, incident: Incident) -> dict[str, Any]:
    """An alert's or log entry's incident: in full with ``include[]=incidents``."""
    return incident_json(ctx, incident) if ctx.wants("incidents") else incident_ref(ctx, incident)


def pending_actions(ctx: Context, incident: Incident) -> list[dict[str, Any]]:
    """The automatic changes due (SPEC-NOTES 3): the engine's timers of the incident (escalate,
    unacknowledge, resolve, urgency_change), soonest first. An urgency change says what it
    changes to (always high: PagerDuty's scheduled actions only raise urgency)."""
    if incident.status == "resolved":
        return []
    actions: list[dict[str, Any]] = []
    for kind, due in sorted(ctx.timers.get(incident.id, ()), key=lambda t: (t[1], t[0])):
        action: dict[str, Any] = {"type": kind, "at": ctx.time(due)}
        if kind == URGENCY_CHANGE:
            action["to"] = "high"
        actions.append(action)
    return actions


def _first_trigger(ctx: Context, incident: Incident) -> dict[str, Any] | None:
    entry = ctx.first_trigger_entries.get(incident.id)
    if entry is not None and ctx.wants("first_trigger_log_entries"):
        return log_entry_json(ctx, entry, incident)
    first = ctx.first_trigger.get(incident.id)
    if not first:
        return None
    ref = reference(ctx.base, "log_entry", first, "Triggered")
    ref["type"] = "trigger_log_entry_reference"
    return ref


def incident_json(ctx: Context, incident: Incident) -> dict[str, Any]:
    body = envelope(ctx.base, "incident", incident.id, f"[#{incident.number}] {incident.title}")
    counts = ctx.alert_counts.get(incident.id, {"all": 0, "triggered": 0, "resolved": 0})
    open_ = incident.status != "resolved"
    expand_assignees = ctx.wants("assignees", "users")
    expand_acks = ctx.wants("acknowledgers", "users")
    priority = ctx.priorities.get(incident.priority_id) if incident.priority_id else None
    body.update(
        incident_number=incident.number,
        title=incident.title,
        description=incident.description or incident.title,
        created_at=ctx.time(incident.created_at),
        updated_at=ctx.time(incident.updated_at),
        status=incident.status,
        incident_key=incident.incident_key,
        service=ctx.service_ref(incident.service_id),
        assignments=[
            {"at": _reformat(ctx, a["at"]), "assignee": ctx.user_ref(a["assignee"]["id"], expand_assignees)}
            for a in (incident.assignments if open_ else [])
        ],
        assigned_via="escalation_policy" if incident.escalation_policy_id else "direct_assignment",
        last_status_change_at=ctx.time(incident.last_status_change_at),
        last_status_change_by=ctx.agent_ref(incident.last_status_change_by, ctx.wants("agents", "users")),
        resolved_at=ctx.time(incident.resolved_at),
        first_trigger_log_entry=_first_trigger(ctx, incident),
        alert_counts=counts,
        is_mergeable=open_,
        incident_type={"name": "incident_default"},
        escalation_policy=ctx.policy_ref(incident.escalation_policy_id),
        teams=ctx.team_refs(ctx.policy_teams.get(incident.escalation_policy_id or "", [])),
        pending_actions=pending_actions(ctx, incident),
        acknowledgements=[
            {"at": _reformat(ctx, a["at"]), "acknowledger": ctx.agent_ref(a["acknowledger"], expand_acks)}
            for a in (incident.acknowledgements if incident.status == "acknowledged" else [])
        ],
        alert_grouping=None,
        priority=priority_json(ctx.base, priority) if priority is not None else None,
        urgency=incident.urgency,
        resolve_reason=None,
        conference_bridge=incident.conference_bridge,
        incidents_responders=[],
        responder_requests=[],
    )
    if incident.details is not None:
        body["body"] = {"type": "incident_body", "details": incident.details}
    # PagerDuty's schema makes these optional but not nullable: absent rather than null.
    for name in OPTIONAL_NOT_NULLABLE:
        if body[name] is None:
            del body[name]
    return body


def _reformat(ctx: Context, stamp: str) -> str | None:
    """Times kept as ISO text in JSON columns, rendered like every other time."""
    return ctx.time(datetime.fromisoformat(stamp))


def alert_json(ctx: Context, alert: Alert, incident: Incident) -> dict[str, Any]:
    body = envelope(ctx.base, "alert", alert.id, alert.summary, parent=f"incidents/{incident.id}")
    payload = alert.body or {}
    body.update(
        created_at=ctx.time(alert.created_at),
        status=alert.status,
        alert_key=alert.dedup_key,
        service=ctx.service_ref(alert.service_id),
        incident=_incident(ctx, incident),
        suppressed=False,
        severity=alert.severity,
        integration={"id": alert.integration_id, "type": "events_api_v2_inbound_integration_reference",
                     "summary": "Events API V2", "self": None, "html_url": None},
        resolved_at=ctx.time(alert.resolved_at),
        body={
            "type": "alert_body",
            "contexts": alert_contexts(payload.get("links"), payload.get("images")),
            "details": payload.get("custom_details") or {},
            "cef_details": {
                "summary": alert.summary,
                "severity": alert.severity,
                "source_origin": payload.get("source"),
                "source_component": payload.get("component"),
                "event_class": payload.get("class"),
                "service_group": payload.get("group"),
                "creation_time": payload.get("timestamp"),
                "client": payload.get("client"),
                "client_url": payload.get("client_url"),
                "details": payload.get("custom_details"),
                "dedup_key": alert.dedup_key,
            },
        },
    )
    return body


def log_entry_json(ctx: Context, entry: LogEntry, incident: Incident | None) -> dict[str, Any]:
    body = envelope(ctx.base, "log_entry", entry.id, entry.summary)
    body["type"] = entry.type
    body.update(
        created_at=ctx.time(entry.created_at),
        agent=ctx.agent_ref(entry.agent),
        channel=entry.channel,
        service=ctx.service_ref(entry.service_id),
        incident=_incident(ctx, incident) if incident is not None else None,
        teams=[],
        contexts=[],
        event_details={"description": entry.summary},
    )
    return body
