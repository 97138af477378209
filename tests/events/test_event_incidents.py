"""Incidents made and changed by events, through the transition seam: one clock, the same
assignment as REST, disabled services, log entries of what happened only, PagerDuty's shapes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tests.contract import assert_conforms, spec_or_skip
from tocsin.clock import FrozenClock
from tocsin.incidents.models import Alert, LogEntry

T0 = datetime(2030, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(harness: Harness) -> FrozenClock:
    """The clock frozen in 2030, swapped in after the app was built (as every timer test will)."""
    frozen = FrozenClock(T0)
    harness.tocsin.runtime.clock = frozen
    return frozen


async def _get(h: Harness, url: str, **params: Any) -> dict[str, Any]:
    r = await h.client.get(url, headers=h.auth, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def _send(h: Harness, action: str, key: str) -> None:
    r = await h.send(h.event(action, key))
    assert r.status_code == 202, r.text


async def _incident(h: Harness, key: str) -> dict[str, Any]:
    [incident] = (await _get(h, "/incidents", incident_key=key, date_range="all"))["incidents"]
    return incident


async def _log(h: Harness, incident_id: str) -> list[dict[str, Any]]:
    """Oldest first."""
    return list(reversed((await _get(h, f"/incidents/{incident_id}/log_entries"))["log_entries"]))


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- one clock -------------------------------------------------------------------------------

async def test_event_made_incidents_are_dated_by_the_runtime_clock(harness: Harness, clock: FrozenClock) -> None:
    await _send(harness, "trigger", "clock/1")
    clock.advance(seconds=30)  # processed 30 s after it was received
    assert await harness.process() == 1
    incident = await _incident(harness, "clock/1")
    assert _at(incident["created_at"]) == T0 + timedelta(seconds=30)
    async with harness.tocsin.db.transaction() as session:
        alert = (await session.execute(select(Alert))).scalar_one()
    assert alert.created_at.replace(tzinfo=UTC) == T0  # the alert keeps when the event was received

    clock.advance(minutes=5)
    await _send(harness, "acknowledge", "clock/1")
    await harness.process()
    acked = await _incident(harness, "clock/1")
    assert _at(acked["acknowledgements"][0]["at"]) == T0 + timedelta(minutes=5, seconds=30)
    assert _at(acked["last_status_change_at"]) == T0 + timedelta(minutes=5, seconds=30)

    clock.advance(minutes=5)
    await _send(harness, "resolve", "clock/1")
    await harness.process()
    resolved = await _incident(harness, "clock/1")
    assert _at(resolved["resolved_at"]) == T0 + timedelta(minutes=10, seconds=30)
    stamps = [_at(e["created_at"]) for e in await _log(harness, incident["id"])]
    assert all(T0 < s < T0 + timedelta(minutes=11) for s in stamps), stamps
    async with harness.tocsin.db.transaction() as session:
        stored = (await session.execute(select(LogEntry.type, LogEntry.created_at).order_by(LogEntry.created_at))).all()
    # Trigger and assignment share the batch's instant, a microsecond apart, in the order they happened.
    assert [t for t, _ in stored] == ["trigger_log_entry", "assign_log_entry", "acknowledge_log_entry",
                                      "resolve_log_entry"]
    assert stored[1][1] - stored[0][1] == timedelta(microseconds=1)


# --- assigned exactly as REST-made incidents ---------------------------------------------------

async def _user(h: Harness, name: str) -> str:
    r = await h.client.post("/users", headers=h.writer, json={"user": {
        "type": "user", "name": name, "email": f"{name.lower()}@example.com"}})
    assert r.status_code == 201, r.text
    return str(r.json()["user"]["id"])


async def _schedule(h: Harness, users: list[str]) -> str:
    layer = {"start": "2030-05-02T00:00:00Z", "rotation_virtual_start": "2030-05-02T00:00:00Z",
             "rotation_turn_length_seconds": 86_400,
             "users": [{"user": {"id": u, "type": "user_reference"}} for u in users]}
    r = await h.client.post("/schedules", headers=h.writer, json={"schedule": {
        "name": "Primary", "time_zone": "Etc/UTC", "schedule_layers": [layer]}})
    assert r.status_code == 201, r.text
    return str(r.json()["schedule"]["id"])


async def test_event_made_incidents_are_assigned_like_rest_made_ones(harness: Harness, clock: FrozenClock) -> None:
    alice, bob, carol, dave = [await _user(harness, n) for n in ("Alice", "Bob", "Carol", "Dave")]
    schedule = await _schedule(harness, [bob, carol])  # a daily rotation from 2030-05-02: Bob on 2030-06-01
    r = await harness.client.post("/escalation_policies", headers=harness.writer, json={"escalation_policy": {
        "type": "escalation_policy", "name": "Web", "escalation_rules": [
            {"escalation_delay_in_minutes": 5, "targets": [{"id": alice, "type": "user_reference"},
                                                           {"id": schedule, "type": "schedule_reference"}]},
            {"escalation_delay_in_minutes": 5, "targets": [{"id": dave, "type": "user_reference"}]}]}})
    assert r.status_code == 201, r.text
    policy = r.json()["escalation_policy"]["id"]
    r = await harness.client.put(f"/services/{harness.seed.service_id}", headers=harness.writer, json={
        "service": {"escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}})
    assert r.status_code == 200, r.text

    for key in ("assign/1", "assign/2"):  # two incidents in one batch: the policy is rendered once
        await _send(harness, "trigger", key)
    assert await harness.process() == 2
    r = await harness.client.post("/incidents", headers=harness.writer, json={"incident": {
        "type": "incident", "title": "By hand",
        "service": {"id": harness.seed.service_id, "type": "service_reference"}}})
    assert r.status_code == 201, r.text
    by_rest = r.json()["incident"]

    for key in ("assign/1", "assign/2"):
        by_event = await _incident(harness, key)
        assert [a["assignee"]["id"] for a in by_event["assignments"]] == [alice, bob]
        assert [a["assignee"]["id"] for a in by_event["assignments"]] == [
            a["assignee"]["id"] for a in by_rest["assignments"]]
        event_log, rest_log = await _log(harness, by_event["id"]), await _log(harness, by_rest["id"])
        assert [e["type"] for e in event_log] == [e["type"] for e in rest_log] == [
            "trigger_log_entry", "assign_log_entry"]
        assert event_log[1]["summary"] == rest_log[1]["summary"] == "Assigned to Alice, Bob."
    mine = await _get(harness, "/incidents", **{"user_ids[]": bob})
    assert len(mine["incidents"]) == 3  # the assignment rows user_ids[] filters on are written too

    clock.advance(days=1)  # Carol's turn: a new incident goes to whoever is on call at that instant
    await _send(harness, "trigger", "assign/3")
    await harness.process()
    assert [a["assignee"]["id"] for a in (await _incident(harness, "assign/3"))["assignments"]] == [alice, carol]


# --- disabled services -------------------------------------------------------------------------

async def test_events_to_a_disabled_service_are_accepted_and_dropped(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await _send(harness, "trigger", "before/1")
    await harness.process()
    r = await harness.client.put(f"/services/{harness.seed.service_id}", headers=harness.writer,
                                 json={"service": {"status": "disabled"}})
    assert r.status_code == 200, r.text

    caplog.set_level(logging.INFO, logger="tocsin.events.processor")
    for action, key in [("trigger", "during/1"), ("acknowledge", "before/1"), ("resolve", "before/1")]:
        await _send(harness, action, key)  # accepted: 202
    change = {"routing_key": harness.routing_key, "payload": {"summary": "deploy 42"}}
    assert (await harness.send(change, "/v2/change/enqueue")).status_code == 202
    assert await harness.process() == 4  # taken out of the inbox ...
    listed = (await _get(harness, "/incidents", date_range="all"))["incidents"]
    assert [(i["incident_key"], i["status"]) for i in listed] == [("before/1", "triggered")]  # ... and dropped
    assert (await _get(harness, "/change_events"))["change_events"] == []  # its integrations accept nothing
    assert sum("is disabled" in m for m in caplog.messages) == 4
    # Re-enabled: the integration works again, and what it opened before can be closed.
    r = await harness.client.put(f"/services/{harness.seed.service_id}", headers=harness.writer,
                                 json={"service": {"status": "active"}})
    assert r.status_code == 200, r.text
    await _send(harness, "resolve", "before/1")
    await harness.process()
    assert (await _incident(harness, "before/1"))["status"] == "resolved"


# --- log entries record what happened -----------------------------------------------------------

async def test_resolving_one_alert_of_a_merged_incident_logs_no_resolve(harness: Harness) -> None:
    for key in ("merged/a", "merged/b"):
        await _send(harness, "trigger", key)
    await harness.process()
    target, source = await _incident(harness, "merged/a"), await _incident(harness, "merged/b")
    r = await harness.client.put(f"/incidents/{target['id']}/merge", headers=harness.writer,
                                 json={"source_incidents": [{"id": source["id"], "type": "incident_reference"}]})
    assert r.status_code == 200, r.text

    await _send(harness, "resolve", "merged/b")
    await harness.process()
    assert (await _incident(harness, "merged/a"))["status"] == "triggered"
    assert "resolve_log_entry" not in [e["type"] for e in await _log(harness, target["id"])]

    await _send(harness, "resolve", "merged/a")
    await harness.process()
    assert (await _incident(harness, "merged/a"))["status"] == "resolved"
    assert [e["type"] for e in await _log(harness, target["id"])].count("resolve_log_entry") == 1
    async with harness.tocsin.db.transaction() as session:
        entries = (await session.execute(select(LogEntry).where(LogEntry.type == "resolve_log_entry"))).scalars().all()
    assert sorted(e.incident_id for e in entries) == sorted([source["id"], target["id"]])


# --- PagerDuty's shapes ---------------------------------------------------------------------------

def _assert_log_entries_conform(entries: list[dict[str, Any]]) -> None:
    """Each entry against PagerDuty's ``LogEntry`` schema (type, agent, incident, service ...).
    The channel is left out: PagerDuty's ``Channel`` is a ``oneOf`` under which ``{"type": "api"}``
    matches several variants, so no channel at all could pass it."""
    from openapi_schema_validator import OAS30Validator

    spec = spec_or_skip()
    validator = OAS30Validator({"$ref": "#/components/schemas/LogEntry", "components": spec["components"]})
    for entry in entries:
        body = {k: v for k, v in entry.items() if k != "channel" and v is not None}
        problems = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(body)]
        assert not problems, (entry["type"], problems)


async def test_an_acknowledgement_through_an_integration_is_by_the_service(harness: Harness) -> None:
    await _send(harness, "trigger", "ack/1")
    await _send(harness, "acknowledge", "ack/1")
    await harness.process()
    incident = await _incident(harness, "ack/1")
    [ack] = incident["acknowledgements"]
    assert (ack["acknowledger"]["id"], ack["acknowledger"]["type"]) == (harness.seed.service_id, "service_reference")
    assert (incident["last_status_change_by"]["id"], incident["last_status_change_by"]["type"]) == (
        harness.seed.service_id, "service_reference")
    r = await harness.client.get(f"/incidents/{incident['id']}", headers=harness.auth)
    assert_conforms(r, "GET", "/incidents/{id}")


async def test_log_entries_of_every_transition_conform_to_pagerdutys_schema(harness: Harness) -> None:
    for key in ("shape/a", "shape/b"):
        await _send(harness, "trigger", key)
    await _send(harness, "acknowledge", "shape/a")
    await harness.process()
    target, source = await _incident(harness, "shape/a"), await _incident(harness, "shape/b")
    changes: list[dict[str, Any]] = [
        {"status": "triggered"}, {"urgency": "low"}, {"priority": {"id": "PPRIOR1", "type": "priority_reference"}},
        {"escalation_level": 1}, {"status": "acknowledged"}]  # level 1 again changes nothing: no entry
    for change in changes:
        r = await harness.client.put(f"/incidents/{target['id']}", headers=harness.writer,
                                     json={"incident": {"type": "incident_reference", **change}})
        assert r.status_code == 200, r.text
    r = await harness.client.post(f"/incidents/{target['id']}/snooze", headers=harness.writer, json={"duration": 60})
    assert r.status_code == 201, r.text
    r = await harness.client.put(f"/incidents/{target['id']}/merge", headers=harness.writer,
                                 json={"source_incidents": [{"id": source["id"], "type": "incident_reference"}]})
    assert r.status_code == 200, r.text
    r = await harness.client.put(f"/incidents/{target['id']}", headers=harness.writer,
                                 json={"incident": {"type": "incident_reference", "status": "resolved"}})
    assert r.status_code == 200, r.text

    for incident in (target, source):
        _assert_log_entries_conform((await _get(harness, f"/incidents/{incident['id']}/log_entries"))["log_entries"])
    types = {e["type"] for e in (await _get(harness, f"/incidents/{target['id']}/log_entries"))["log_entries"]}
    assert types == {"trigger_log_entry", "assign_log_entry", "acknowledge_log_entry", "unacknowledge_log_entry",
                     "urgency_change_log_entry", "field_value_change_log_entry",
                     "snooze_log_entry", "resolve_log_entry"}
    [merged] = [e for e in (await _get(harness, f"/incidents/{source['id']}/log_entries"))["log_entries"]
                if e["type"] == "resolve_log_entry"]
    assert merged["summary"] == f"Resolved by merging into incident #{target['incident_number']}."
    _assert_log_entries_conform((await _get(harness, "/log_entries"))["log_entries"])
