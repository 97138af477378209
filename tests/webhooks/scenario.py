"""One incident taken through every change that has a v3 webhook event, over REST."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.conftest import Harness
from tests.incidents.helpers import admin_id, new_policy, new_user


@dataclass(frozen=True)
class Story:
    incident_id: str
    admin: str
    other: str
    second_policy: str
    priority_id: str
    # (event type, what data.status must be), in the order the changes were made
    expected: list[tuple[str, str | None]]


async def _put(h: Harness, incident_id: str, **fields: Any) -> None:
    r = await h.client.put(f"/incidents/{incident_id}", headers=h.writer,
                           json={"incident": {"type": "incident_reference", **fields}})
    assert r.status_code == 200, r.text


async def every_change(h: Harness, service_id: str | None = None) -> Story:
    """Create an incident on a two-level policy and make every change Tocsin reports."""
    admin = await admin_id(h)
    other = await new_user(h, "Olga")
    policy = await new_policy(h, [[admin], [other]])
    second_policy = await new_policy(h, [[other]])
    if service_id is None:
        r = await h.client.post("/services", headers=h.writer, json={"service": {
            "name": "Story service", "escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}})
        assert r.status_code == 201, r.text
        service_id = r.json()["service"]["id"]
    r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
        "type": "incident", "title": "Disk full", "incident_key": "story/1",
        "service": {"id": service_id, "type": "service_reference"},
        "escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}})
    assert r.status_code == 201, r.text
    iid = r.json()["incident"]["id"]
    priorities = (await h.client.get("/priorities", headers=h.auth)).json()["priorities"]
    p1 = priorities[0]["id"]
    await _put(h, iid, status="acknowledged")
    await _put(h, iid, status="triggered")  # unacknowledge
    await _put(h, iid, escalation_level=2)
    await _put(h, iid, assignments=[{"assignee": {"id": admin, "type": "user_reference"}}])
    await _put(h, iid, escalation_policy={"id": second_policy, "type": "escalation_policy_reference"})
    r = await h.client.post(f"/incidents/{iid}/notes", headers=h.writer, json={"note": {"content": "Looking into it"}})
    assert r.status_code == 200, r.text
    await _put(h, iid, priority={"id": p1, "type": "priority_reference"})
    await _put(h, iid, conference_bridge={"conference_number": "+1 555 0100,,123#",
                                          "conference_url": "https://meet.example.com/abc"})
    await _put(h, iid, status="resolved")
    await _put(h, iid, status="triggered")  # reopen
    expected: list[tuple[str, str | None]] = [
        ("incident.triggered", "triggered"), ("incident.acknowledged", "acknowledged"),
        ("incident.unacknowledged", "triggered"), ("incident.escalated", "triggered"),
        ("incident.reassigned", "triggered"), ("incident.delegated", "triggered"), ("incident.annotated", None),
        ("incident.priority_updated", "triggered"), ("incident.conference_bridge.updated", None),
        ("incident.resolved", "resolved"), ("incident.reopened", "triggered"),
    ]
    return Story(iid, admin, other, second_policy, p1, expected)
