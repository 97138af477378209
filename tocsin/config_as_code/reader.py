"""Reading an account's configuration through the REST API (Tocsin's or PagerDuty's): the raw
objects (``source.Source``) and, for imports, priorities and schedule overrides.

Only public API calls, each list paged (``RestClient.iter_offset``), 429s waited out by the
client. Where a list answer may hold references only, the object is read on its own: a schedule's
layers (``GET /schedules/{id}``), an integration's key (``GET /services/{id}/integrations/{id}``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tocsin.client import ApiError, RestClient
from tocsin.config_as_code.from_api import INTEGRATION_TYPES
from tocsin.config_as_code.source import Source

Step = Callable[[str], None]  # told the name of each part as it starts
PARTS = ("users", "teams", "schedules", "escalation policies", "services", "forwarders and chat webhooks",
         "webhook subscriptions", "maintenance windows")


def _quiet(_: str) -> None:
    return None


def read(rest: RestClient, now: datetime, step: Step = _quiet) -> Source:
    source = Source()
    step("users")
    source.users = [_with_rules(rest, u) for u in rest.iter_offset(
        "/users", "users", {"include[]": ["contact_methods", "notification_rules"]})]
    step("teams")
    source.teams = list(rest.iter_offset("/teams", "teams"))
    source.members = {str(t["id"]): list(rest.iter_offset(f"/teams/{t['id']}/members", "members"))
                      for t in source.teams}
    step("schedules")
    # The list may leave layers out (PagerDuty's does); one schedule at a time, rendering a minute.
    window = {"since": now.isoformat(), "until": (now + timedelta(minutes=1)).isoformat()}
    source.schedules = [dict(rest.get(f"/schedules/{s['id']}", window)["schedule"])
                        for s in rest.iter_offset("/schedules", "schedules")]
    step("escalation policies")
    source.policies = list(rest.iter_offset("/escalation_policies", "escalation_policies"))
    step("services")
    source.services = [_with_keys(rest, s) for s in rest.iter_offset(
        "/services", "services", {"include[]": ["integrations"]})]
    step("forwarders and chat webhooks")
    source.forwarders = per_service(rest, source.services, "forwarders")
    source.chat_webhooks = per_service(rest, source.services, "chat_webhooks")
    step("webhook subscriptions")
    source.webhooks = optional_list(rest, "/webhook_subscriptions", "webhook_subscriptions")
    step("maintenance windows")
    source.windows = list(rest.iter_offset("/maintenance_windows", "maintenance_windows", {"filter": "open"}))
    return source


def optional_list(rest: RestClient, path: str, key: str) -> list[dict[str, Any]] | None:
    """A list some servers do not have (None then): a 404 for the path itself, not for an object."""
    try:
        return list(rest.iter_offset(path, key))
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def per_service(rest: RestClient, services: list[dict[str, Any]], collection: str) -> list[dict[str, Any]] | None:
    """Every service's ``/services/{id}/<collection>`` (Tocsin's forwarders and chat webhooks);
    None when the server has no such API (PagerDuty answers the path 404)."""
    found: list[dict[str, Any]] = []
    for service in services:
        try:
            answer = rest.get(f"/services/{service['id']}/{collection}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        found.extend(answer.get(collection) or [])
    return found


def _with_rules(rest: RestClient, user: dict[str, Any]) -> dict[str, Any]:
    """Every notification rule of both urgencies, as objects (a list may hold references only)."""
    rules = user.get("notification_rules") or []
    if all(isinstance(r, dict) and "urgency" in r for r in rules):
        return user
    answer = rest.get(f"/users/{user['id']}/notification_rules", {"urgency": "all"})
    return {**user, "notification_rules": list(answer.get("notification_rules") or [])}


def _with_keys(rest: RestClient, service: dict[str, Any]) -> dict[str, Any]:
    integrations = []
    for integration in service.get("integrations") or []:
        kind = str(integration.get("type") or "").removesuffix("_reference")
        if "integration_key" not in integration and kind in INTEGRATION_TYPES:
            integration = dict(rest.get(f"/services/{service['id']}/integrations/{integration['id']}")["integration"])
        integrations.append(integration)
    return {**service, "integrations": integrations}


def priorities(rest: RestClient) -> list[dict[str, Any]]:
    """The account's priorities (an account without them answers an empty list or 404)."""
    return optional_list(rest, "/priorities", "priorities") or []


def overrides(rest: RestClient, schedule_id: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Overrides overlapping [since, until) (ongoing ones included), in the API's order."""
    answer = rest.get(f"/schedules/{schedule_id}/overrides", {"since": since.isoformat(), "until": until.isoformat()})
    return list(answer.get("overrides") or [])
