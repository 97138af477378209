"""Objects the CLI tests need on the server, made through the REST API (as any client would)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.cli.conftest import Server


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ok(response: httpx.Response) -> Any:
    request = response.request
    assert response.is_success, f"{request.method} {request.url} -> {response.status_code}: {response.text}"
    return response.json() if response.content else None


def service(server: Server, name: str | None = None, policy_id: str | None = None,
            **fields: Any) -> tuple[str, str]:
    """A service with an Events API v2 integration: (service id, routing key)."""
    with server.rest() as rest:
        body = {"name": name or unique("svc"), "escalation_policy": {
            "id": policy_id or server.policy_id, "type": "escalation_policy_reference"}, **fields}
        created = ok(rest.post("/services", json={"service": body}))["service"]
        integration = ok(rest.post(f"/services/{created['id']}/integrations", json={"integration": {
            "name": "events", "type": "events_api_v2_inbound_integration"}}))["integration"]
    return created["id"], integration["integration_key"]


def trigger(server: Server, routing_key: str, dedup_key: str, summary: str = "CPU high") -> None:
    ok(httpx.post(f"{server.url}/v2/enqueue", json={
        "routing_key": routing_key, "event_action": "trigger", "dedup_key": dedup_key,
        "payload": {"summary": summary, "source": "web-1", "severity": "critical"}}))


def incidents(server: Server, service_id: str, statuses: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    with server.rest() as rest:
        return list(ok(rest.get("/incidents", params={"service_ids[]": service_id, "date_range": "all",
                                                      "statuses[]": list(statuses), "limit": 100}))["incidents"])


def wait_incidents(server: Server, service_id: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The service's incidents once there are ``count`` (events are processed just after their 202)."""
    deadline = time.monotonic() + timeout
    while True:
        found = incidents(server, service_id)
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} incidents of {count} after {timeout} s"
        time.sleep(0.05)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.05)


def user(server: Server, name: str) -> dict[str, Any]:
    with server.rest() as rest:
        return dict(ok(rest.post("/users", json={"user": {
            "name": name, "email": f"{unique(name.lower())}@example.com", "type": "user"}}))["user"])


def sms_rule(server: Server, user_id: str, delay: int, urgency: str = "high") -> None:
    with server.rest() as rest:
        method = ok(rest.post(f"/users/{user_id}/contact_methods", json={"contact_method": {
            "type": "sms_contact_method", "address": "5555550100", "country_code": 1, "label": "Mobile"}}))
        method_id = method["contact_method"]["id"]
        ok(rest.post(f"/users/{user_id}/notification_rules", json={"notification_rule": {
            "type": "assignment_notification_rule", "start_delay_in_minutes": delay, "urgency": urgency,
            "contact_method": {"id": method_id, "type": "sms_contact_method_reference"}}}))


def midnight(days: int = 0) -> datetime:
    """Midnight UTC, ``days`` from today."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days)


def rota(server: Server, name: str, users: list[str], start: datetime) -> dict[str, Any]:
    """A schedule in UTC: one layer, a day per user in turn from ``start``."""
    with server.rest() as rest:
        return dict(ok(rest.post("/schedules", json={"schedule": {
            "name": name, "time_zone": "UTC", "schedule_layers": [{
                "name": "Days", "start": start.isoformat(), "rotation_virtual_start": start.isoformat(),
                "rotation_turn_length_seconds": 86400,
                "users": [{"user": {"id": u, "type": "user_reference"}} for u in users]}]}}))["schedule"])


def policy(server: Server, name: str, levels: list[tuple[int, list[dict[str, str]]]]) -> dict[str, Any]:
    with server.rest() as rest:
        return dict(ok(rest.post("/escalation_policies", json={"escalation_policy": {
            "name": name, "escalation_rules": [{"escalation_delay_in_minutes": delay, "targets": targets}
                                               for delay, targets in levels]}}))["escalation_policy"])
