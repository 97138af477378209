"""Setting the status an incident already has changes nothing a client can see."""

from __future__ import annotations

from tests.conftest import Harness
from tests.incidents.helpers import create, get, log_types, put
from tests.maintenance.helpers import T0, freeze


async def test_triggered_on_a_triggered_incident_is_a_no_op(harness: Harness) -> None:
    clock = freeze(harness, T0)
    incident = await create(harness)
    before = await log_types(harness, incident["id"])
    clock.advance(minutes=5)
    r = await put(harness, incident["id"], status="triggered")
    assert r.status_code == 200, r.text
    after = (await get(harness, f"/incidents/{incident['id']}"))["incident"]
    assert after["status"] == "triggered"
    assert after["last_status_change_at"] == incident["last_status_change_at"]
    assert after["updated_at"] == incident["updated_at"]
    assert await log_types(harness, incident["id"]) == before


async def test_a_reopened_incident_forgets_the_snooze_it_had_before_it_resolved(harness: Harness) -> None:
    clock = freeze(harness, T0)
    assert (await harness.send(harness.event(dedup_key="sn/1"))).status_code == 202
    assert await harness.process() == 1
    [incident] = (await get(harness, "/incidents", incident_key="sn/1", date_range="all"))["incidents"]
    assert (await put(harness, incident["id"], status="acknowledged")).status_code == 200
    r = await harness.client.post(f"/incidents/{incident['id']}/snooze", headers=harness.writer, json={"duration": 60})
    assert r.status_code == 201, r.text
    snoozed_until = [a["at"] for a in r.json()["incident"]["pending_actions"] if a["type"] == "unacknowledge"]
    assert snoozed_until == ["2030-01-01T12:01:00Z"]
    assert (await harness.send(harness.event("resolve", "sn/1"))).status_code == 202
    assert await harness.process() == 1
    clock.advance(minutes=10)
    r = await put(harness, incident["id"], status="acknowledged")  # reopens it, acknowledged
    assert r.status_code == 200, r.text
    reopened = r.json()["incident"]
    assert reopened["status"] == "acknowledged"
    assert "2030-01-01T12:01:00Z" not in [a["at"] for a in reopened["pending_actions"]], reopened["pending_actions"]
