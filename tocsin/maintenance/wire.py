"""ORM rows -> PagerDuty JSON for maintenance windows (and Tocsin's suppressed events)."""

from __future__ import annotations

from typing import Any

from tocsin.http.refs import envelope, iso, reference
from tocsin.maintenance.logic import Related
from tocsin.maintenance.models import MaintenanceWindow, SuppressedEvent


def _summary(window: MaintenanceWindow) -> str:
    return window.description or f"Maintenance window #{window.sequence_number}"


def _service(base: str, service_id: str, facts: dict[str, Any], expand: bool) -> dict[str, Any]:
    name = facts.get("name", service_id)
    if not expand:
        return reference(base, "service", service_id, name)
    body = envelope(base, "service", service_id, name)
    body.update(name=name, description=facts.get("description"), status=facts.get("status"))
    return body


def _user(base: str, user_id: str, facts: dict[str, Any], expand: bool) -> dict[str, Any]:
    name = facts.get("name", user_id)
    if not expand:
        return reference(base, "user", user_id, name)
    body = envelope(base, "user", user_id, name)
    body.update(name=name, email=facts.get("email"))
    return body


def window_json(
    base: str, window: MaintenanceWindow, related: Related, include: frozenset[str] = frozenset()
) -> dict[str, Any]:
    body = envelope(base, "maintenance_window", window.id, _summary(window))
    body.update(
        sequence_number=window.sequence_number,
        start_time=iso(window.start_time),
        end_time=iso(window.end_time),
        description=window.description or "",
        created_by=_user(base, window.created_by_id, related.users.get(window.created_by_id, {}),
                         "users" in include),
        services=[
            _service(base, sid, related.services.get(sid, {}), "services" in include)
            for sid in related.window_services.get(window.id, [])
        ],
        # Services carry no team in Tocsin yet, so no window is related to a team.
        teams=[],
    )
    return body


def suppressed_json(base: str, event: SuppressedEvent, service_name: str) -> dict[str, Any]:
    """A trigger a maintenance window held back (Tocsin's own resource; PagerDuty has none)."""
    return {
        "id": event.id,
        "type": "suppressed_event",
        "summary": event.summary or event.dedup_key,
        "maintenance_window": reference(base, "maintenance_window", event.window_id, event.window_id),
        "service": reference(base, "service", event.service_id, service_name),
        "integration": {"id": event.integration_id, "type": "integration_reference"},
        "dedup_key": event.dedup_key,
        "severity": event.severity,
        "received_at": iso(event.received_at),
        "suppressed_at": iso(event.suppressed_at),
        "reason": "service in maintenance: a trigger opens no incident and pages nobody",
        "body": event.payload,
    }
