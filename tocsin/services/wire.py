"""ORM rows -> PagerDuty JSON for services and integrations."""

from __future__ import annotations

from typing import Any

from tocsin.http.refs import envelope, iso, reference
from tocsin.services.models import Integration, Service

INTEGRATION_NAMES = {
    "events_api_v2_inbound_integration": "Events API V2",
    "generic_events_api_inbound_integration": "Events API V1",
    "generic_email_inbound_integration": "Email",
}


def service_json(base: str, service: Service, integrations: list[Integration]) -> dict[str, Any]:
    body = envelope(base, "service", service.id, service.name)
    body.update(
        name=service.name,
        description=service.description,
        status=service.status,
        auto_resolve_timeout=service.auto_resolve_timeout,
        acknowledgement_timeout=service.acknowledgement_timeout,
        created_at=iso(service.created_at),
        updated_at=iso(service.updated_at),
        last_incident_timestamp=None,
        incident_urgency_rule=service.incident_urgency_rule,
        support_hours=service.support_hours,
        escalation_policy=(
            reference(base, "escalation_policy", service.escalation_policy_id, service.escalation_policy_id)
            if service.escalation_policy_id
            else None
        ),
        integrations=[integration_ref(base, i) for i in integrations],
        teams=[],
        addons=[],
        scheduled_actions=[],
        alert_creation="create_alerts_and_incidents",
        alert_grouping_parameters={"type": None},
    )
    return body


def _integration_envelope(base: str, integration: Integration) -> dict[str, Any]:
    path = f"services/{integration.service_id}/integrations/{integration.id}"
    return {
        "id": integration.id,
        "type": integration.type,
        "summary": integration.name,
        "self": f"{base}/{path}",
        "html_url": f"{base}/ui/{path}",
    }


def integration_ref(base: str, integration: Integration) -> dict[str, Any]:
    ref = _integration_envelope(base, integration)
    ref["type"] = f"{integration.type}_reference"
    return ref


def integration_json(base: str, integration: Integration, service: Service) -> dict[str, Any]:
    body = _integration_envelope(base, integration)
    body.update(
        name=integration.name,
        service=reference(base, "service", service.id, service.name),
        created_at=iso(integration.created_at),
        integration_key=integration.integration_key,
        vendor=None,
    )
    return body
