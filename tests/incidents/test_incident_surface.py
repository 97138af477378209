"""The full incident surface over REST: create, bulk and complete updates, notes, snooze, merge,
alerts, include[] and filters, priorities. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tests.incidents.helpers import (
    admin_id,
    assignee_ids,
    create,
    get,
    incident_body,
    incident_count,
    log_types,
    new_policy,
    new_user,
    put,
    trigger,
)
from tocsin.audit.models import AuditRecord
from tocsin.auth.logic import issue_api_key
from tocsin.incidents.models import Incident, IncidentAssignment, IncidentNote

# --- priorities --------------------------------------------------------------------------------


async def test_priorities_are_seeded_p1_to_p5(harness: Harness) -> None:
    r = await harness.client.get("/priorities", headers=harness.auth, params={"total": "true"})
    assert_conforms(r, "GET", "/priorities")
    body = r.json()
    assert [p["name"] for p in body["priorities"]] == ["P1", "P2", "P3", "P4", "P5"]
    assert body["total"] == 5
    for p in body["priorities"]:
        assert p["type"] == "priority" and p["id"].startswith("P") and len(p["id"]) >= 7
        assert p["self"] == f"http://tocsin.test/priorities/{p['id']}"


async def test_priority_create_and_update_are_audited(harness: Harness) -> None:
    r = await harness.client.post("/priorities", headers=harness.auth,
                                  json={"priority": {"name": "SEV0", "color": "FF0000"}})
    assert r.status_code == 201, r.text
    created = r.json()["priority"]
    assert (created["name"], created["color"], created["order"]) == ("SEV0", "ff0000", 6)
    r = await harness.client.put(f"/priorities/{created['id']}", headers=harness.auth,
                                 json={"priority": {"description": "Everything is down"}})
    assert r.status_code == 200, r.text
    assert r.json()["priority"]["description"] == "Everything is down"
    assert (await get(harness, f"/priorities/{created['id']}"))["priority"]["name"] == "SEV0"
    async with harness.tocsin.db.transaction() as session:
        actions = (await session.execute(
            select(AuditRecord.action).where(AuditRecord.root_id == created["id"]).order_by(AuditRecord.execution_time)
        )).scalars().all()
    assert sorted(actions) == ["create", "update"]


@pytest.mark.parametrize(("body", "field"), [
    ({"priority": {}}, "priority.name"),
    ({"priority": {"name": ""}}, "priority.name"),
    ({"priority": {"name": 5}}, "priority.name"),
    ({"priority": {"name": "x" * 51}}, "priority.name"),
    ({"priority": {"name": "P0", "color": "red"}}, "priority.color"),
    ({}, "priority"),
])
async def test_priority_bad_input(harness: Harness, body: Any, field: str) -> None:
    error = assert_error(await harness.client.post("/priorities", headers=harness.auth, json=body), 400, 2001)
    assert any(e.startswith(field) for e in error["errors"]), error
    assert (await get(harness, "/priorities", total="true"))["total"] == 5


async def test_priorities_need_an_admin_user_key(harness: Harness) -> None:
    carol = await new_user(harness, "Carol")
    async with harness.tocsin.db.transaction() as session:
        secret = await issue_api_key(session, datetime.now(UTC), description="carol", user_id=carol)
    headers = {"Authorization": f"Token token={secret}"}
    assert_error(await harness.client.post("/priorities", headers=headers, json={"priority": {"name": "X"}}), 403, 2010)
    assert_error(await harness.client.put("/priorities/PPRIOR1", headers=headers,
                                          json={"priority": {"name": "X"}}), 403, 2010)
    assert (await harness.client.get("/priorities", headers=headers)).status_code == 200
    assert (await get(harness, "/priorities/PPRIOR1"))["priority"]["name"] == "P1"


async def test_priority_unknown_is_404(harness: Harness) -> None:
    assert_error(await harness.client.put("/priorities/PNOSUCH1", headers=harness.auth,
                                          json={"priority": {"name": "X"}}), 404, 2100)
    assert_error(await harness.client.get("/priorities/PNOSUCH1", headers=harness.auth), 404, 2100)


# --- POST /incidents ---------------------------------------------------------------------------


async def test_create_assigns_the_policys_level_one_on_call(harness: Harness) -> None:
    r = await harness.client.post("/incidents", headers=harness.writer, json=incident_body(
        harness, urgency="low", incident_key="db/1", priority={"id": "PPRIOR2", "type": "priority_reference"}))
    assert_conforms(r, "POST", "/incidents")
    incident = r.json()["incident"]
    assert "body" not in incident
    # body.details is kept as the string clients send (PagerDuty's schema types it an object).
    detailed = await create(harness, body={"type": "incident_body", "details": "disk full"})
    assert detailed["body"] == {"type": "incident_body", "details": "disk full"}
    admin = await admin_id(harness)
    assert (incident["status"], incident["urgency"], incident["incident_key"]) == ("triggered", "low", "db/1")
    assert incident["priority"]["name"] == "P2"
    assert incident["escalation_policy"]["id"] == harness.seed.escalation_policy_id
    assert assignee_ids(incident) == [admin]
    assert incident["alert_counts"] == {"all": 0, "triggered": 0, "resolved": 0}
    assert await log_types(harness, incident["id"]) == ["trigger_log_entry", "assign_log_entry"]
    entries = (await get(harness, f"/incidents/{incident['id']}/log_entries"))["log_entries"]
    assert all(e["agent"]["id"] == admin for e in entries)


async def test_create_with_direct_assignments(harness: Harness) -> None:
    alice = await new_user(harness, "Alice")
    incident = await create(harness, assignments=[{"assignee": {"id": alice, "type": "user_reference"}}])
    assert assignee_ids(incident) == [alice]
    assert incident["assignments"][0]["assignee"]["summary"] == "Alice"
    listed = await get(harness, "/incidents", **{"user_ids[]": alice})
    assert [i["id"] for i in listed["incidents"]] == [incident["id"]]


@pytest.mark.parametrize(("fields", "field"), [
    ({"title": None}, "incident.title"),
    ({"title": ""}, "incident.title"),
    ({"title": "x" * 1025}, "incident.title"),
    ({"type": "incident_reference"}, "incident.type"),
    ({"urgency": "medium"}, "incident.urgency"),
    ({"service": {"id": "PNOSUCHSVC", "type": "service_reference"}}, "incident.service"),
    ({"service": None}, "incident.service"),
    ({"priority": {"id": "PNOSUCHPRI", "type": "priority_reference"}}, "incident.priority"),
    ({"assignments": [{"assignee": {"id": "PNOSUCHUSR", "type": "user_reference"}}]}, "incident.assignments[0]"),
    ({"assignments": [{"assignee": {"id": "PX", "type": "user_reference"}}],
      "escalation_policy": {"id": "PY", "type": "escalation_policy_reference"}}, "incident"),
    ({"escalation_policy": {"id": "PNOSUCHPOL", "type": "escalation_policy_reference"}}, "incident.escalation_policy"),
    ({"incident_key": 5}, "incident.incident_key"),
    # tocsin.api.errors drops every "body" part of the location, so this reads incident.details.
    ({"body": {"type": "incident_body", "details": 7}}, "incident.details"),
])
async def test_create_bad_input_is_400_and_creates_nothing(harness: Harness, fields: dict[str, Any],
                                                           field: str) -> None:
    body = incident_body(harness)
    body["incident"].update(fields)
    body["incident"] = {k: v for k, v in body["incident"].items() if v is not None}
    error = assert_error(await harness.client.post("/incidents", headers=harness.writer, json=body), 400, 2001)
    assert any(e.startswith(field) for e in error["errors"]), error
    assert await incident_count(harness) == 0


async def test_create_needs_from(harness: Harness) -> None:
    error = assert_error(await harness.client.post("/incidents", headers=harness.auth, json=incident_body(harness)),
                         400, 2001)
    assert "from" in (error["message"] + " ".join(error["errors"])).lower()


async def test_duplicate_open_incident_key_is_refused_until_resolved(harness: Harness) -> None:
    first = await create(harness, incident_key="same")
    error = assert_error(await harness.client.post("/incidents", headers=harness.writer,
                                                   json=incident_body(harness, incident_key="same")), 400, 2001)
    assert error["errors"] == ["Open incident with matching dedup key already exists on this service"]
    assert (await put(harness, first["id"], status="resolved")).status_code == 200
    assert (await create(harness, incident_key="same"))["id"] != first["id"]


# --- PUT /incidents/{id} -----------------------------------------------------------------------


async def test_priority_by_reference_by_name_and_removed(harness: Harness) -> None:
    incident = await create(harness)
    r = await put(harness, incident["id"], priority={"id": "PPRIOR1", "type": "priority_reference"})
    assert_conforms(r, "PUT", "/incidents/{id}")
    assert r.json()["incident"]["priority"]["name"] == "P1"
    assert (await put(harness, incident["id"], priority="P3")).json()["incident"]["priority"]["id"] == "PPRIOR3"
    assert (await put(harness, incident["id"], priority=None)).json()["incident"].get("priority") is None
    # PagerDuty's published log entry types have no priority type: a field value change.
    assert (await log_types(harness, incident["id"])).count("field_value_change_log_entry") == 3
    for bad in ("P9", {"id": "PNOPE12", "type": "priority_reference"}, 3):
        error = assert_error(await put(harness, incident["id"], priority=bad), 400, 2001)
        assert any(e.startswith("incident.priority") for e in error["errors"]), error


async def test_resolution_becomes_a_note(harness: Harness) -> None:
    incident = await create(harness)
    r = await put(harness, incident["id"], status="resolved", resolution="Restarted the primary")
    assert r.status_code == 200 and r.json()["incident"]["assignments"] == []
    notes = (await get(harness, f"/incidents/{incident['id']}/notes"))["notes"]
    assert [n["content"] for n in notes] == ["Restarted the primary"]
    async with harness.tocsin.db.transaction() as session:
        assigned = select(IncidentAssignment).where(IncidentAssignment.incident_id == incident["id"])
        rows = (await session.execute(assigned)).all()
    assert rows == []


async def test_reassign_logs_and_retriggers(harness: Harness) -> None:
    bob = await new_user(harness, "Bob")
    incident = await create(harness)
    assert (await put(harness, incident["id"], status="acknowledged")).status_code == 200
    r = await put(harness, incident["id"], assignments=[{"assignee": {"id": bob, "type": "user_reference"}}])
    assert r.status_code == 200, r.text
    after = r.json()["incident"]
    assert (after["status"], assignee_ids(after)) == ("triggered", [bob])
    assert (await log_types(harness, incident["id"]))[-1] == "assign_log_entry"  # PagerDuty has no reassign type
    assert [i["id"] for i in (await get(harness, "/incidents", **{"user_ids[]": bob}))["incidents"]] == [incident["id"]]
    assert (await get(harness, "/incidents", **{"user_ids[]": await admin_id(harness)}))["incidents"] == []
    error = assert_error(await put(harness, incident["id"], assignments=[
        {"assignee": {"id": "PNOSUCHUSR", "type": "user_reference"}}]), 400, 2001)
    assert error["errors"][0].startswith("incident.assignments[0].assignee")


async def test_escalation_policy_and_level(harness: Harness) -> None:
    alice, bob = await new_user(harness, "Alice"), await new_user(harness, "Bob")
    policy = await new_policy(harness, [[alice], [bob]])
    incident = await create(harness)
    r = await put(harness, incident["id"], escalation_policy={"id": policy, "type": "escalation_policy_reference"})
    assert r.status_code == 200, r.text
    assert (r.json()["incident"]["escalation_policy"]["id"], assignee_ids(r.json()["incident"])) == (policy, [alice])
    r = await put(harness, incident["id"], escalation_level=2)
    assert r.status_code == 200, r.text
    assert assignee_ids(r.json()["incident"]) == [bob]
    assert (await log_types(harness, incident["id"]))[-2:] == ["delegate_log_entry", "escalate_log_entry"]
    for level in (0, 3, "2"):
        error = assert_error(await put(harness, incident["id"], escalation_level=level), 400, 2001)
        assert any(e.startswith("incident.escalation_level") for e in error["errors"]), error
    error = assert_error(await put(harness, incident["id"], escalation_policy={"id": "PNOSUCHPOL"}), 400, 2001)
    assert error["errors"][0].startswith("incident.escalation_policy")


async def test_reopen_to_triggered_assigns_the_policy_again(harness: Harness) -> None:
    incident = await create(harness)
    assert (await put(harness, incident["id"], status="resolved")).status_code == 200
    r = await put(harness, incident["id"], status="triggered")
    assert r.status_code == 200
    assert assignee_ids(r.json()["incident"]) == [await admin_id(harness)]
    assert (await log_types(harness, incident["id"]))[-2:] == ["trigger_log_entry", "assign_log_entry"]


async def test_title_and_conference_bridge(harness: Harness) -> None:
    incident = await create(harness)
    r = await put(harness, incident["id"], title="Database slow",
                  conference_bridge={"conference_url": "https://meet.example.com/x"})
    assert r.status_code == 200
    got = (await get(harness, f"/incidents/{incident['id']}"))["incident"]
    assert got["title"] == "Database slow" and got["conference_bridge"] == {"conference_url": "https://meet.example.com/x"}
    assert_error(await put(harness, incident["id"], title=""), 400, 2001)


async def test_changes_to_a_resolved_incident_are_refused(harness: Harness) -> None:
    incident = await create(harness)
    assert (await put(harness, incident["id"], status="resolved")).status_code == 200
    assert_error(await put(harness, incident["id"], escalation_level=1), 400, 1001)


# --- PUT /incidents (bulk) ---------------------------------------------------------------------


async def test_bulk_update(harness: Harness) -> None:
    a, b = await create(harness, title="a"), await create(harness, title="b")
    r = await harness.client.put("/incidents", headers=harness.writer, json={"incidents": [
        {"id": a["id"], "type": "incident_reference", "status": "acknowledged"},
        {"id": b["id"], "type": "incident_reference", "status": "resolved", "priority": "P1"}]})
    assert_conforms(r, "PUT", "/incidents")
    assert [(i["id"], i["status"]) for i in r.json()["incidents"]] == [(a["id"], "acknowledged"), (b["id"], "resolved")]
    assert (await get(harness, f"/incidents/{b['id']}"))["incident"]["priority"]["name"] == "P1"


async def test_bulk_is_all_or_nothing(harness: Harness) -> None:
    a = await create(harness)
    cases = [
        ([{"id": a["id"], "type": "incident_reference", "status": "acknowledged"},
          {"id": a["id"] + "X", "type": "incident_reference", "status": "snoozed"}], 400, 2001, "incidents[1].status"),
        ([{"id": a["id"], "type": "incident_reference", "status": "acknowledged"},
          {"id": "PNOSUCHINC", "type": "incident_reference", "status": "resolved"}], 404, 2100, "incidents[1].id"),
        ([{"id": a["id"], "type": "incident_reference", "status": "acknowledged"},
          {"type": "incident_reference", "status": "resolved"}], 400, 2001, "incidents[1].id"),
        ([{"id": a["id"], "type": "incident_reference", "status": "acknowledged"},
          {"id": a["id"], "type": "incident_reference", "priority": "P9"}], 400, 2001, "incidents[1]"),
        ([{"id": a["id"], "type": "incident_reference", "status": "acknowledged"}, "nope"], 400, 2001, "incidents[1]"),
    ]
    for items, status, code, field in cases:
        r = await harness.client.put("/incidents", headers=harness.writer, json={"incidents": items})
        error = assert_error(r, status, code)
        assert any(e.startswith(field) for e in error["errors"]), error
        assert (await get(harness, f"/incidents/{a['id']}"))["incident"]["status"] == "triggered"


async def test_bulk_over_250_is_413(harness: Harness) -> None:
    items = [{"id": f"PX{n:06d}", "type": "incident_reference", "status": "resolved"} for n in range(251)]
    assert_error(await harness.client.put("/incidents", headers=harness.writer, json={"incidents": items}), 413, 2001)
    assert_error(await harness.client.put("/incidents", headers=harness.writer, json={"incidents": "x"}), 400, 2001)


# --- notes -------------------------------------------------------------------------------------


async def test_notes(harness: Harness) -> None:
    incident = await create(harness)
    r = await harness.client.post(f"/incidents/{incident['id']}/notes", headers=harness.writer,
                                  json={"note": {"content": "Looking into it"}})
    assert_conforms(r, "POST", "/incidents/{id}/notes", 200)
    note = r.json()["note"]
    assert note["content"] == "Looking into it" and note["user"]["id"] == await admin_id(harness)
    r = await harness.client.get(f"/incidents/{incident['id']}/notes", headers=harness.auth)
    assert_conforms(r, "GET", "/incidents/{id}/notes")
    assert [n["id"] for n in r.json()["notes"]] == [note["id"]]
    assert (await log_types(harness, incident["id"]))[-1] == "annotate_log_entry"


@pytest.mark.parametrize(("body", "field"), [
    ({"note": {}}, "note.content"),
    ({"note": {"content": ""}}, "note.content"),
    ({"note": {"content": 12}}, "note.content"),
    ({"note": {"content": "x" * 25_001}}, "note.content"),
    ({}, "note"),
])
async def test_note_bad_input(harness: Harness, body: Any, field: str) -> None:
    incident = await create(harness)
    r = await harness.client.post(f"/incidents/{incident['id']}/notes", headers=harness.writer, json=body)
    error = assert_error(r, 400, 2001)
    assert any(e.startswith(field) for e in error["errors"]), error
    async with harness.tocsin.db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(IncidentNote))).scalar_one() == 0


async def test_notes_of_unknown_incident_and_without_from(harness: Harness) -> None:
    assert_error(await harness.client.get("/incidents/PNOSUCHINC/notes", headers=harness.auth), 404, 2100)
    assert_error(await harness.client.post("/incidents/PNOSUCHINC/notes", headers=harness.writer,
                                           json={"note": {"content": "x"}}), 404, 2100)
    incident = await create(harness)
    assert_error(await harness.client.post(f"/incidents/{incident['id']}/notes", headers=harness.auth,
                                           json={"note": {"content": "x"}}), 400, 2001)


# --- snooze ------------------------------------------------------------------------------------


async def test_snooze_only_acknowledged(harness: Harness) -> None:
    incident = await create(harness)
    url = f"/incidents/{incident['id']}/snooze"
    error = assert_error(await harness.client.post(url, headers=harness.writer, json={"duration": 60}), 400, 2001)
    assert "acknowledged" in " ".join(error["errors"])
    assert (await put(harness, incident["id"], status="acknowledged")).status_code == 200
    r = await harness.client.post(url, headers=harness.writer, json={"duration": 3600})
    assert_conforms(r, "POST", "/incidents/{id}/snooze", 201)
    snoozed = r.json()["incident"]
    [unack] = [a for a in snoozed["pending_actions"] if a["type"] == "unacknowledge"]
    delta = datetime.fromisoformat(unack["at"].replace("Z", "+00:00")) - datetime.fromisoformat(
        snoozed["updated_at"].replace("Z", "+00:00"))
    assert abs(delta.total_seconds() - 3600) <= 1
    assert (await log_types(harness, incident["id"]))[-1] == "snooze_log_entry"
    async with harness.tocsin.db.transaction() as session:
        row = await session.get(Incident, incident["id"])
        assert row is not None and row.snoozed_until is not None


@pytest.mark.parametrize("body", [{}, {"duration": 0}, {"duration": -5}, {"duration": "60"},
                                  {"duration": 1.5}, {"duration": True}, {"duration": 604_801}])
async def test_snooze_bad_duration(harness: Harness, body: dict[str, Any]) -> None:
    incident = await create(harness)
    await put(harness, incident["id"], status="acknowledged")
    r = await harness.client.post(f"/incidents/{incident['id']}/snooze", headers=harness.writer, json=body)
    error = assert_error(r, 400, 2001)
    assert any(e.startswith("duration") for e in error["errors"]), error


async def test_snooze_unknown_incident(harness: Harness) -> None:
    assert_error(await harness.client.post("/incidents/PNOSUCHINC/snooze", headers=harness.writer,
                                           json={"duration": 60}), 404, 2100)


# --- merge and alerts --------------------------------------------------------------------------


async def test_merge_moves_alerts_and_resolves_sources(harness: Harness) -> None:
    target, source = await trigger(harness, "m/1"), await trigger(harness, "m/2")
    r = await harness.client.put(f"/incidents/{target['id']}/merge", headers=harness.writer,
                                 json={"source_incidents": [{"id": source["id"], "type": "incident_reference"}]})
    assert_conforms(r, "PUT", "/incidents/{id}/merge")
    assert r.json()["incident"]["id"] == target["id"]
    merged = (await get(harness, f"/incidents/{target['id']}"))["incident"]
    assert merged["alert_counts"] == {"all": 2, "triggered": 2, "resolved": 0}
    gone = (await get(harness, f"/incidents/{source['id']}"))["incident"]
    assert gone["status"] == "resolved" and gone["alert_counts"]["all"] == 0
    # PagerDuty resolves a merged source with the reason "merged"; the target's log is unchanged.
    assert (await log_types(harness, source["id"]))[-1] == "resolve_log_entry"
    assert (await log_types(harness, target["id"])) == ["trigger_log_entry", "assign_log_entry"]
    # An event resolving one of the two alerts leaves the incident open; the second resolves it.
    assert (await harness.send(harness.event("resolve", "m/2"))).status_code == 202
    await harness.process()
    assert (await get(harness, f"/incidents/{target['id']}"))["incident"]["status"] == "triggered"
    assert (await harness.send(harness.event("resolve", "m/1"))).status_code == 202
    await harness.process()
    assert (await get(harness, f"/incidents/{target['id']}"))["incident"]["status"] == "resolved"


async def test_merge_bad_input(harness: Harness) -> None:
    target = await trigger(harness, "mb/1")
    url = f"/incidents/{target['id']}/merge"
    for body, field in [({}, "source_incidents"), ({"source_incidents": []}, "source_incidents"),
                        ({"source_incidents": [{"id": "PNOSUCHINC"}]}, "source_incidents[0]"),
                        ({"source_incidents": [{"id": target["id"]}]}, "source_incidents[0]"),
                        ({"source_incidents": [{"type": "incident_reference"}]}, "source_incidents.0.id")]:
        error = assert_error(await harness.client.put(url, headers=harness.writer, json=body), 400, 2001)
        assert any(e.startswith(field) for e in error["errors"]), (body, error)
    assert_error(await harness.client.put("/incidents/PNOSUCHINC/merge", headers=harness.writer,
                                          json={"source_incidents": [{"id": target["id"]}]}), 404, 2100)
    assert (await get(harness, f"/incidents/{target['id']}"))["incident"]["status"] == "triggered"


async def test_one_alert_get_and_resolve(harness: Harness) -> None:
    incident = await trigger(harness, "al/1")
    [alert] = (await get(harness, f"/incidents/{incident['id']}/alerts"))["alerts"]
    url = f"/incidents/{incident['id']}/alerts/{alert['id']}"
    r = await harness.client.get(url, headers=harness.auth)
    assert_conforms(r, "GET", "/incidents/{id}/alerts/{alert_id}")
    assert r.json()["alert"]["id"] == alert["id"]
    assert_error(await harness.client.get(f"/incidents/{incident['id']}/alerts/PNOSUCHALR", headers=harness.auth), 404,
                 2100)
    error = assert_error(await harness.client.put(url, headers=harness.writer, json={"alert": {"status": "gone"}}), 400,
                         2001)
    assert error["errors"][0].startswith("alert.status")
    r = await harness.client.put(url, headers=harness.writer, json={"alert": {"status": "resolved"}})
    assert_conforms(r, "PUT", "/incidents/{id}/alerts/{alert_id}", 200)
    assert r.json()["alert"]["status"] == "resolved"
    # The last open alert resolved, so the incident resolved with it.
    assert (await get(harness, f"/incidents/{incident['id']}"))["incident"]["status"] == "resolved"


async def test_bulk_alert_update(harness: Harness) -> None:
    target, source = await trigger(harness, "ba/1"), await trigger(harness, "ba/2")
    await harness.client.put(f"/incidents/{target['id']}/merge", headers=harness.writer,
                             json={"source_incidents": [{"id": source["id"]}]})
    alerts = (await get(harness, f"/incidents/{target['id']}/alerts"))["alerts"]
    url = f"/incidents/{target['id']}/alerts"
    r = await harness.client.put(url, headers=harness.writer, json={"alerts": [
        {"id": alerts[0]["id"], "status": "resolved"}]})
    assert_conforms(r, "PUT", "/incidents/{id}/alerts")
    assert (await get(harness, f"/incidents/{target['id']}"))["incident"]["status"] == "triggered"
    bad = await harness.client.put(url, headers=harness.writer, json={"alerts": [
        {"id": alerts[1]["id"], "status": "resolved"}, {"id": "PNOSUCHALR", "status": "resolved"}]})
    assert_error(bad, 404, 2100)
    assert (await get(harness, f"/incidents/{target['id']}"))["incident"]["status"] == "triggered"
    many = [{"id": alerts[1]["id"], "status": "resolved"}] * 251
    assert_error(await harness.client.put(url, headers=harness.writer, json={"alerts": many}), 413, 2001)
    r = await harness.client.put(url, headers=harness.writer,
                                 json={"alerts": [{"id": alerts[1]["id"], "status": "resolved"}]})
    assert r.status_code == 200
    assert (await get(harness, f"/incidents/{target['id']}"))["incident"]["status"] == "resolved"


# --- include[] and filters ---------------------------------------------------------------------


async def test_includes_expand_references(harness: Harness) -> None:
    r = await harness.client.post("/teams", headers=harness.writer, json={"team": {"type": "team", "name": "Ops"}})
    assert r.status_code == 201, r.text
    team = r.json()["team"]["id"]
    policy = await new_policy(harness, [[await admin_id(harness)]], teams=[team])
    incident = await create(harness, escalation_policy={"id": policy, "type": "escalation_policy_reference"},
                            priority={"id": "PPRIOR1", "type": "priority_reference"})
    await put(harness, incident["id"], status="acknowledged")
    # PagerDuty's schema types a log entry's channel as a oneOf that any object matches several
    # branches of, so first_trigger_log_entries is checked apart from the contract.
    everything = ["assignees", "acknowledgers", "services", "escalation_policies", "teams", "priorities", "users"]
    r = await harness.client.get(f"/incidents/{incident['id']}", headers=harness.auth,
                                 params={"include[]": everything})
    assert_conforms(r, "GET", "/incidents/{id}")
    r = await harness.client.get(f"/incidents/{incident['id']}", headers=harness.auth,
                                 params={"include[]": [*everything, "first_trigger_log_entries"]})
    one = r.json()["incident"]
    assert one["acknowledgements"][0]["acknowledger"]["type"] == "user"
    assert one["acknowledgements"][0]["acknowledger"]["email"] == harness.seed.admin_email
    assert one["service"]["type"] == "service" and one["service"]["name"]
    assert one["escalation_policy"]["type"] == "escalation_policy"
    assert [(t["id"], t["type"], t["name"]) for t in one["teams"]] == [(team, "team", "Ops")]
    assert one["first_trigger_log_entry"]["type"] == "trigger_log_entry"
    r = await harness.client.get("/incidents", headers=harness.auth, params={"include[]": everything})
    assert_conforms(r, "GET", "/incidents")
    assert [i["id"] for i in (await get(harness, "/incidents",
                                        **{"team_ids[]": team}))["incidents"]] == [incident["id"]]
    assert (await get(harness, "/incidents", **{"team_ids[]": "PNOSUCHTEAM"}))["incidents"] == []
    plain = (await get(harness, f"/incidents/{incident['id']}"))["incident"]
    assert plain["service"]["type"] == "service_reference"
    assert plain["teams"][0]["type"] == "team_reference"


@pytest.mark.parametrize(("params", "word"), [
    ({"include[]": "everything"}, "include"),
    ({"urgencies[]": "urgent"}, "urgencies"),
])
async def test_list_bad_include_and_urgency(harness: Harness, params: dict[str, str], word: str) -> None:
    error = assert_error(await harness.client.get("/incidents", headers=harness.auth, params=params), 400, 2001)
    assert word in " ".join(error["errors"])
    assert_error(await harness.client.get("/incidents/PNOSUCHINC", headers=harness.auth,
                                          params={"include[]": "users"}), 404, 2100)


async def test_time_zone_renders_assignments(harness: Harness) -> None:
    incident = await create(harness)
    tokyo = (await get(harness, f"/incidents/{incident['id']}", time_zone="Asia/Tokyo"))["incident"]
    assert tokyo["assignments"][0]["at"].endswith("+09:00")
    assert incident["assignments"][0]["at"].endswith("Z")
