"""The maintenance rule end to end (tocsin.maintenance.rule): events for a service in
maintenance are accepted and stored, open no incident, and are listed as suppressed; events
for incidents opened before the window still apply. Judged by the processing clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.maintenance.helpers import HOUR, T0, clock, stamp, window_id
from tocsin.events.models import ChangeEvent, InboxEvent
from tocsin.incidents.models import Alert, Incident, LogEntry


async def incidents(h: Harness) -> list[tuple[str | None, str]]:
    async with h.tocsin.db.transaction() as session:
        rows = await session.execute(select(Incident.incident_key, Incident.status).order_by(Incident.number))
        return [(key, status) for key, status in rows]


async def count(h: Harness, model: Any, *where: Any) -> int:
    async with h.tocsin.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def suppressed(h: Harness, wid: str) -> list[dict[str, Any]]:
    resp = await h.client.get(f"/maintenance_windows/{wid}/suppressed_events", params={"total": "true"},
                              headers=h.auth)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["total"] == len(body["suppressed_events"])
    return body["suppressed_events"]


async def send(h: Harness, action: str, key: str, **payload: Any) -> None:
    resp = await h.send(h.event(action, key, **payload))
    assert resp.status_code == 202, resp.text


async def test_a_trigger_in_maintenance_opens_nothing_and_is_listed(h: Harness) -> None:
    wid = await window_id(h, T0, T0 + HOUR)
    clock(h).advance(minutes=10)
    await send(h, "trigger", "db/disk", summary="Disk 95% on db-1")
    await h.process()
    assert await incidents(h) == []
    assert await count(h, Alert) == 0 and await count(h, LogEntry) == 0
    assert await count(h, InboxEvent) == 0  # taken exactly once
    [held] = await suppressed(h, wid)
    assert held["dedup_key"] == "db/disk" and held["summary"] == "Disk 95% on db-1"
    assert held["service"]["id"] == h.seed.service_id and held["maintenance_window"]["id"] == wid
    assert held["suppressed_at"] == stamp(T0 + timedelta(minutes=10))
    assert held["body"]["severity"] == "critical" and held["severity"] == "critical"

    # Not replayed when the window ends: the same key then opens a new incident.
    clock(h).advance(hours=1)
    await send(h, "trigger", "db/disk")
    await h.process()
    assert await incidents(h) == [("db/disk", "triggered")]
    assert len(await suppressed(h, wid)) == 1


@pytest.mark.parametrize(("offset", "in_maintenance"), [
    (-timedelta(seconds=1), False),  # just before start_time
    (timedelta(0), True),  # exactly start_time: included
    (HOUR - timedelta(seconds=1), True),  # last second of the window
    (HOUR, False),  # exactly end_time: excluded
])
async def test_boundaries_are_start_inclusive_end_exclusive(h: Harness, offset: timedelta,
                                                            in_maintenance: bool) -> None:
    start = T0 + HOUR
    wid = await window_id(h, start, start + HOUR)
    clock(h).advance(seconds=(start + offset - T0).total_seconds())
    await send(h, "trigger", "edge")
    await h.process()
    assert (await incidents(h) == []) is in_maintenance
    assert len(await suppressed(h, wid)) == (1 if in_maintenance else 0)


async def test_the_processing_time_decides_not_the_arrival_time(h: Harness) -> None:
    wid = await window_id(h, T0 + HOUR, T0 + 2 * HOUR)
    await send(h, "trigger", "queued")  # accepted before the window starts...
    clock(h).advance(hours=1)
    await h.process()  # ...but processed during it
    assert await incidents(h) == []
    assert [e["dedup_key"] for e in await suppressed(h, wid)] == ["queued"]


async def test_incidents_opened_before_the_window_still_dedup_ack_and_resolve(h: Harness) -> None:
    await send(h, "trigger", "web/5xx")
    await h.process()
    wid = await window_id(h, T0, T0 + 2 * HOUR)
    clock(h).advance(minutes=5)

    await send(h, "trigger", "web/5xx")  # dedups onto the open alert
    await h.process()
    assert await incidents(h) == [("web/5xx", "triggered")]
    assert await count(h, Alert) == 1
    assert await count(h, LogEntry, LogEntry.type == "trigger_log_entry") == 2
    assert await suppressed(h, wid) == []

    await send(h, "acknowledge", "web/5xx")
    await h.process()
    assert await incidents(h) == [("web/5xx", "acknowledged")]
    await send(h, "resolve", "web/5xx")
    await h.process()
    assert await incidents(h) == [("web/5xx", "resolved")]

    # Resolved: the next trigger of that key would open a new alert, so now it is held.
    await send(h, "trigger", "web/5xx")
    await h.process()
    assert await incidents(h) == [("web/5xx", "resolved")]
    assert [e["dedup_key"] for e in await suppressed(h, wid)] == ["web/5xx"]


async def test_a_batch_mixing_held_and_applied_events(h: Harness) -> None:
    await send(h, "trigger", "old")
    await h.process()
    wid = await window_id(h, T0, T0 + HOUR)
    # One batch: a held trigger and its followers, and an old incident closed and re-triggered.
    for action, key in [("trigger", "new"), ("acknowledge", "new"), ("trigger", "new"), ("resolve", "new"),
                        ("resolve", "old"), ("trigger", "old")]:
        await send(h, action, key)
        clock(h).advance(seconds=1)  # received one after another (the list is in received order)
    assert await h.process() == 6
    assert await incidents(h) == [("old", "resolved")]
    assert [e["dedup_key"] for e in await suppressed(h, wid)] == ["new", "new", "old"]
    assert await count(h, InboxEvent) == 0


async def test_other_services_and_change_events_are_unaffected(h: Harness) -> None:
    made = await h.client.post("/services", headers=h.writer, json={"service": {
        "name": "Billing",
        "escalation_policy": {"id": h.seed.escalation_policy_id, "type": "escalation_policy_reference"}}})
    other = made.json()["service"]["id"]
    integration = await h.client.post(f"/services/{other}/integrations", headers=h.writer,
                                      json={"integration": {"type": "events_api_v2_inbound_integration"}})
    other_key = integration.json()["integration"]["integration_key"]
    wid = await window_id(h, T0, T0 + HOUR)

    await send(h, "trigger", "shared-key")
    assert (await h.send({**h.event("trigger", "shared-key"), "routing_key": other_key})).status_code == 202
    change = await h.send({"routing_key": h.routing_key, "payload": {"summary": "Deployed v2"}}, "/v2/change/enqueue")
    assert change.status_code == 202
    await h.process()
    async with h.tocsin.db.transaction() as session:
        opened = (await session.execute(select(Incident.service_id))).scalars().all()
    assert opened == [other]
    assert await count(h, ChangeEvent) == 1
    assert len(await suppressed(h, wid)) == 1


async def test_ending_a_window_early_resumes_incidents(h: Harness) -> None:
    wid = await window_id(h, T0, T0 + 3 * HOUR)
    clock(h).advance(minutes=30)
    assert (await h.client.delete(f"/maintenance_windows/{wid}", headers=h.writer)).status_code == 204
    await send(h, "trigger", "after-end")
    await h.process()
    assert await incidents(h) == [("after-end", "triggered")]


async def test_a_deleted_future_window_holds_nothing(h: Harness) -> None:
    wid = await window_id(h, T0 + HOUR, T0 + 2 * HOUR)
    assert (await h.client.delete(f"/maintenance_windows/{wid}", headers=h.writer)).status_code == 204
    clock(h).advance(minutes=90)
    await send(h, "trigger", "k")
    await h.process()
    assert await incidents(h) == [("k", "triggered")]


async def test_suppressed_events_list_pages_and_conforms_for_the_window(h: Harness) -> None:
    wid = await window_id(h, T0, T0 + HOUR)
    for n in range(3):
        await send(h, "trigger", f"k{n}")
    await h.process()
    page = await h.client.get(f"/maintenance_windows/{wid}/suppressed_events", params={"limit": 2}, headers=h.auth)
    body = page.json()
    assert len(body["suppressed_events"]) == 2 and body["more"] is True
    # The window itself still answers PagerDuty's shape.
    assert_conforms(await h.client.get(f"/maintenance_windows/{wid}", headers=h.auth),
                    "GET", "/maintenance_windows/{id}", 200)
