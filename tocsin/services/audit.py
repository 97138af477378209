"""What the audit trail records of services and their integrations."""

from __future__ import annotations

from typing import Any

from tocsin.services.models import Integration, Service

SERVICE_FIELDS = ("name", "description", "status", "auto_resolve_timeout", "acknowledgement_timeout",
                  "incident_urgency_rule", "support_hours", "scheduled_actions", "escalation_policy_id")


def service_snapshot(service: Service) -> dict[str, Any]:
    return {name: getattr(service, name) for name in SERVICE_FIELDS}


def integration_snapshot(integration: Integration) -> dict[str, Any]:
    # Never the integration key: it is a credential.
    return {"name": integration.name, "type": integration.type}
