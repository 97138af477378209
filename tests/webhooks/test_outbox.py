"""The outbox: each change's v3 event is stored with the change, in the change's transaction,
for every subscription whose events and filter match; shaped as PagerDuty sends it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Harness
from tests.incidents.helpers import admin_id, new_policy
from tests.webhooks.helpers import ALL_INCIDENT_EVENTS, deliveries, subscribe
from tests.webhooks.scenario import every_change
from tocsin.incidents import logic as incident_logic
from tocsin.incidents.schemas import IncidentCreate
from tocsin.webhooks.models import PENDING

URL = "http://127.0.0.1:9/hook"
REF_KEYS = {"id", "type", "summary", "self", "html_url"}
INCIDENT_KEYS = {"id", "type", "self", "html_url", "number", "status", "incident_key", "created_at", "title",
                 "service", "assignees", "escalation_policy", "teams", "priority", "urgency", "conference_bridge",
                 "resolve_reason"}


def body(event_row: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(event_row.body)
    return found


async def test_every_change_is_one_event_in_order_shaped_as_pagerduty_sends_it(harness: Harness) -> None:
    h = harness
    sub = await subscribe(h, URL)
    story = await every_change(h)
    rows = await deliveries(h, sub["id"])
    got = [(e.event_type, body(e)["event"]["data"].get("status")) for _, e in rows]
    assert got == story.expected
    assert all(d.status == PENDING and d.stream == story.incident_id for d, _ in rows)
    assert len({d.id for d, _ in rows}) == len(rows) and [d.seq for d, _ in rows] == sorted(d.seq for d, _ in rows)
    for _, e in rows:
        event = body(e)["event"]
        assert set(event) == {"id", "event_type", "resource_type", "occurred_at", "agent", "client", "data"}
        assert event["id"] == e.id and event["resource_type"] == "incident"
        assert event["occurred_at"].endswith("Z") and len(event["occurred_at"]) == len("2020-10-02T18:45:22.169Z")
        assert event["agent"]["id"] == story.admin and event["agent"]["type"] == "user_reference"
        assert set(event["agent"]) == REF_KEYS
        data = event["data"]
        if event["event_type"] == "incident.annotated":
            assert data["type"] == "incident_note" and data["content"] == "Looking into it" and data["id"]
            assert data["incident"]["id"] == story.incident_id
        elif event["event_type"] == "incident.conference_bridge.updated":
            assert data == {"incident": data["incident"], "conference_number": "+1 555 0100,,123#",
                            "conference_url": "https://meet.example.com/abc", "type": "conference_bridge"}
        else:
            assert set(data) == INCIDENT_KEYS, sorted(set(data) ^ INCIDENT_KEYS)
            assert data["id"] == story.incident_id and data["type"] == "incident"
            assert data["self"].endswith(f"/incidents/{story.incident_id}") and data["number"] >= 1
            assert data["incident_key"] == "story/1" and data["title"] == "Disk full"
            assert set(data["service"]) == REF_KEYS and data["service"]["summary"] == "Story service"
            assert data["urgency"] == "high" and data["resolve_reason"] is None
    datas = {e.event_type: body(e)["event"]["data"] for _, e in rows}
    assert [a["id"] for a in datas["incident.triggered"]["assignees"]] == [story.admin]
    assert [a["id"] for a in datas["incident.escalated"]["assignees"]] == [story.other]
    assert [a["id"] for a in datas["incident.reassigned"]["assignees"]] == [story.admin]
    assert datas["incident.delegated"]["escalation_policy"]["id"] == story.second_policy
    assert datas["incident.priority_updated"]["priority"]["id"] == story.priority_id
    assert datas["incident.triggered"]["priority"] is None  # as it was then, not as the story ended
    assert datas["incident.resolved"]["assignees"] == []
    assert datas["incident.resolved"]["conference_bridge"] == {
        "conference_number": "+1 555 0100,,123#", "conference_url": "https://meet.example.com/abc"}


async def test_a_batch_that_triggers_and_resolves_a_key_shows_each_moment(harness: Harness) -> None:
    h = harness
    sub = await subscribe(h, URL, events=["incident.triggered", "incident.acknowledged", "incident.resolved"])
    for action in ("trigger", "acknowledge", "resolve"):
        event = h.event(action, dedup_key="flap/1")
        if action == "trigger":
            event["client"] = "Nagios"
        assert (await h.send(event)).status_code == 202
    assert (await h.send(h.event("trigger", dedup_key="steady/1"))).status_code == 202
    await h.process()
    rows = await deliveries(h, sub["id"])
    got = [(e.event_type, body(e)["event"]["data"]["status"], body(e)["event"]["data"]["incident_key"])
           for _, e in rows]
    assert got == [("incident.triggered", "triggered", "flap/1"), ("incident.acknowledged", "acknowledged", "flap/1"),
                   ("incident.resolved", "resolved", "flap/1"), ("incident.triggered", "triggered", "steady/1")]
    first = body(rows[0][1])["event"]
    assert first["client"] == {"name": "Nagios"}
    assert first["agent"]["type"] == "service_reference" and first["agent"]["id"] == h.seed.service_id
    assert [a["type"] for a in first["data"]["assignees"]] == ["user_reference"]


async def test_filters_and_switched_off_subscriptions(harness: Harness) -> None:
    h = harness
    admin = await admin_id(h)
    r = await h.client.post("/teams", headers=h.writer, json={"team": {"name": "Storage"}})
    team = r.json()["team"]["id"]
    team_policy = await new_policy(h, [[admin]], teams=[team])
    r = await h.client.post("/services", headers=h.writer, json={"service": {
        "name": "Team service", "escalation_policy": {"id": team_policy, "type": "escalation_policy_reference"}}})
    team_service = r.json()["service"]["id"]
    everything = await subscribe(h, URL)
    on_seed = await subscribe(h, URL, filter_={"type": "service_reference", "id": h.seed.service_id})
    on_team = await subscribe(h, URL, filter_={"type": "team_reference", "id": team})
    only_resolved = await subscribe(h, URL, events=["incident.resolved"])
    off = await subscribe(h, URL, active=False)
    for service in (h.seed.service_id, team_service):
        r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
            "type": "incident", "title": "x", "service": {"id": service, "type": "service_reference"}}})
        assert r.status_code == 201, r.text

    async def services_of(sub: dict[str, Any]) -> list[str]:
        return [body(e)["event"]["data"]["service"]["id"] for _, e in await deliveries(h, sub["id"])]

    assert await services_of(everything) == [h.seed.service_id, team_service]
    assert await services_of(on_seed) == [h.seed.service_id]
    assert await services_of(on_team) == [team_service]
    teams = [body(e)["event"]["data"]["teams"] for _, e in await deliveries(h, on_team["id"])]
    assert [[t["id"] for t in ts] for ts in teams] == [[team]] and teams[0][0]["summary"] == "Storage"
    assert await deliveries(h, only_resolved["id"]) == []
    assert await deliveries(h, off["id"]) == []


async def test_a_change_that_rolls_back_queues_nothing(harness: Harness) -> None:
    h = harness
    await subscribe(h, URL)
    admin = await admin_id(h)
    fields = IncidentCreate.model_validate({"type": "incident", "title": "never",
                                            "service": {"id": h.seed.service_id, "type": "service_reference"}})
    async def fail_after_the_change() -> None:
        async with h.tocsin.db.transaction() as session:
            await incident_logic.create_incident(session, fields, admin, h.tocsin.runtime.clock.now())
            raise RuntimeError("the request failed after the change")

    with pytest.raises(RuntimeError):
        await fail_after_the_change()
    assert await deliveries(h) == []


async def test_service_changes(harness: Harness) -> None:
    h = harness
    sub = await subscribe(h, URL, events=["service.created", "service.updated", "service.deleted"])
    policy = (await h.client.get("/escalation_policies", headers=h.auth)).json()["escalation_policies"][0]["id"]
    r = await h.client.post("/services", headers=h.writer, json={"service": {
        "name": "Billing", "escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}})
    sid = r.json()["service"]["id"]
    r = await h.client.put(f"/services/{sid}", headers=h.writer, json={"service": {"description": "Invoices"}})
    assert r.status_code == 200
    r = await h.client.put(f"/services/{sid}", headers=h.writer, json={"service": {"description": "Invoices"}})
    assert r.status_code == 200  # no change: no event
    assert (await h.client.delete(f"/services/{sid}", headers=h.writer)).status_code == 204
    rows = await deliveries(h, sub["id"])
    assert [e.event_type for _, e in rows] == ["service.created", "service.updated", "service.deleted"]
    events = [body(e)["event"] for _, e in rows]
    assert all(ev["resource_type"] == "service" and ev["data"]["id"] == sid for ev in events)
    assert events[1]["data"]["description"] == "Invoices" and events[0]["data"]["name"] == "Billing"
    assert events[0]["data"]["escalation_policy"]["id"] == policy
    # The harness writes with an account key: the credential acted (the audit trail's actor).
    assert events[0]["agent"]["type"] == "api_key_reference" and events[0]["agent"]["id"]


def test_every_incident_event_is_covered() -> None:
    from tocsin.webhooks.event_types import INCIDENT_EVENTS

    assert sorted(INCIDENT_EVENTS) == sorted(ALL_INCIDENT_EVENTS)
