"""ORM rows -> PagerDuty JSON for incidents, alerts and log entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from tocsin.http.refs import envelope, iso, reference
from tocsin.incidents.models import Alert, Incident, LogEntry

AGENT_SUMMARIES = {"service_reference": "Service", "user_reference": "User"}


@dataclass
class Context:
    """What rendering needs beyond the rows themselves, loaded in bulk by the caller."""

    base: str
    tz: ZoneInfo | None = None
    service_names: dict[str, str] = field(default_factory=dict)
    user_names: dict[str, str] = field(default_factory=dict)
    first_trigger: dict[str, str] = field(default_factory=dict)  # incident id -> log entry id
    alert_counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def time(self, value: Any) -> str | None:
        return iso(value, self.tz)

    def service_ref(self, service_id: str) -> dict[str, Any]:
        return reference(self.base, "service", service_id, self.service_names.get(service_id, service_id))

    def agent_ref(self, agent: dict[str, Any] | None) -> dict[str, Any] | None:
        if not agent:
            return None
        kind = agent["type"].removesuffix("_reference")
        if kind == "user":
            return reference(self.base, "user", agent["id"], self.user_names.get(agent["id"], agent["id"]))
        if kind == "service":
            return self.service_ref(agent["id"])
        return {"id": agent["id"], "type": agent["type"], "summary": kind.replace("_", " ").title(),
                "self": None, "html_url": None}


def incident_ref(ctx: Context, incident: Incident) -> dict[str, Any]:
    return reference(ctx.base, "incident", incident.id, f"[#{incident.number}] {incident.title}")


def incident_json(ctx: Context, incident: Incident) -> dict[str, Any]:
    body = envelope(ctx.base, "incident", incident.id, f"[#{incident.number}] {incident.title}")
    first = ctx.first_trigger.get(incident.id)
    counts = ctx.alert_counts.get(incident.id, {"all": 0, "triggered": 0, "resolved": 0})
    body.update(
        incident_number=incident.number,
        title=incident.title,
        description=incident.description or incident.title,
        created_at=ctx.time(incident.created_at),
        updated_at=ctx.time(incident.updated_at),
        status=incident.status,
        incident_key=incident.incident_key,
        service=ctx.service_ref(incident.service_id),
        assignments=[] if incident.status == "resolved" else incident.assignments,
        assigned_via="escalation_policy" if incident.escalation_policy_id else "direct_assignment",
        last_status_change_at=ctx.time(incident.last_status_change_at),
        last_status_change_by=ctx.agent_ref(incident.last_status_change_by),
        resolved_at=ctx.time(incident.resolved_at),
        first_trigger_log_entry=(
            reference(ctx.base, "log_entry", first, "Triggered") if first else None
        ),
        alert_counts=counts,
        is_mergeable=incident.status != "resolved",
        incident_type={"name": "incident_default"},
        escalation_policy=(
            reference(ctx.base, "escalation_policy", incident.escalation_policy_id, incident.escalation_policy_id)
            if incident.escalation_policy_id else None
        ),
        teams=[],
        pending_actions=[],
        acknowledgements=[
            {"at": a["at"], "acknowledger": ctx.agent_ref(a["acknowledger"])}
            for a in (incident.acknowledgements if incident.status == "acknowledged" else [])
        ],
        alert_grouping=None,
        priority=None,
        urgency=incident.urgency,
        resolve_reason=None,
        conference_bridge=None,
        incidents_responders=[],
        responder_requests=[],
        body={"type": "incident_body", "details": incident.description or ""},
    )
    return body


def alert_json(ctx: Context, alert: Alert, incident: Incident) -> dict[str, Any]:
    body = envelope(ctx.base, "alert", alert.id, alert.summary, parent=f"incidents/{incident.id}")
    payload = alert.body or {}
    body.update(
        created_at=ctx.time(alert.created_at),
        status=alert.status,
        alert_key=alert.dedup_key,
        service=ctx.service_ref(alert.service_id),
        incident=incident_ref(ctx, incident),
        suppressed=False,
        severity=alert.severity,
        integration={"id": alert.integration_id, "type": "events_api_v2_inbound_integration_reference",
                     "summary": "Events API V2", "self": None, "html_url": None},
        resolved_at=ctx.time(alert.resolved_at),
        first_trigger_log_entry=None,
        body={
            "type": "alert_body",
            "contexts": [*(payload.get("links") or []), *(payload.get("images") or [])],
            "details": payload.get("custom_details"),
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
        incident=incident_ref(ctx, incident) if incident is not None else None,
        teams=[],
        contexts=[],
        event_details={"description": entry.summary},
    )
    return body
