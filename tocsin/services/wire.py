"""ORM rows -> PagerDuty JSON for services and integrations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tocsin.http.refs import envelope, iso, reference
from tocsin.services.models import Integration, Service


@dataclass
class Related:
    """What a service's JSON shows about its escalation policy and teams (loaded in bulk)."""

    policy_names: dict[str, str] = field(default_factory=dict)
    policy_teams: dict[str, list[str]] = field(default_factory=dict)  # a service's teams are its policy's
    team_names: dict[str, str] = field(default_factory=dict)


def _named(base: str, kind: str, id_: str, name: str, expand: bool) -> dict[str, Any]:
    """A reference, or with ``include[]`` the object itself (as far as Tocsin shows it inline)."""
    if not expand:
        return reference(base, kind, id_, name)
    body = envelope(base, kind, id_, name)
    body["name"] = name
    return body


def service_json(
    base: str, service: Service, integrations: list[Integration],
    related: Related | None = None, include: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    related = related or Related()
    policy_id = service.escalation_policy_id
    team_ids = related.policy_teams.get(policy_id, []) if policy_id else []
    body = envelope(base, "service", service.id, service.name)
    body.update(
        name=service.name,
        description=service.description or "",  # PagerDuty's schema: a string, never null
        status=service.status,
        auto_resolve_timeout=service.auto_resolve_timeout,
        acknowledgement_timeout=service.acknowledgement_timeout,
        created_at=iso(service.created_at),
        updated_at=iso(service.updated_at),
        incident_urgency_rule=service.incident_urgency_rule,
        escalation_policy=(
            _named(base, "escalation_policy", policy_id, related.policy_names.get(policy_id, policy_id),
                   "escalation_policies" in include)
            if policy_id
            else None
        ),
        integrations=[
            integration_json(base, i, service) if "integrations" in include else integration_ref(base, i)
            for i in integrations
        ],
        teams=[_named(base, "team", t, related.team_names.get(t, t), "teams" in include) for t in team_ids],
        addons=[],
        scheduled_actions=list(service.scheduled_actions or []),
        alert_creation="create_alerts_and_incidents",
        alert_grouping_parameters={"type": None},
    )
    # PagerDuty's schema has no null for these: leave them out until they have a value.
    if service.support_hours is not None:
        body["support_hours"] = service.support_hours
    if "auto_pause_notifications_parameters" in include:
        # Tocsin never holds back notifications of transient alerts: the feature is off.
        body["auto_pause_notifications_parameters"] = {"enabled": False}
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


def integration_json(
    base: str, integration: Integration, service: Service, expand_service: bool = False
) -> dict[str, Any]:
    body = _integration_envelope(base, integration)
    body.update(
        name=integration.name,
        service=_named(base, "service", service.id, service.name, expand_service),
        created_at=iso(integration.created_at),
        integration_key=integration.integration_key,
        vendor=None,
    )
    return body
