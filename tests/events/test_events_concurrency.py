"""Events under concurrency, on SQLite and PostgreSQL: dedup holds when many triggers of one key
race, the database itself enforces one open alert per (integration, dedup key), and the group
commit batches concurrent events while incident numbers stay gap-free."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from tests.conftest import Harness
from tocsin.events.models import InboxEvent
from tocsin.ids import new_id
from tocsin.incidents.models import Alert, Incident, LogEntry
from tocsin.services.models import Integration

STORM = 50
DISTINCT = 200

# --- helpers --------------------------------------------------------------------------------


async def count_rows(h: Harness, model: type, *where: Any) -> int:
    async with h.tocsin.db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def incident_total(h: Harness) -> int:
    r = await h.client.get("/incidents", params={"date_range": "all", "total": "true"}, headers=h.auth)
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


async def fire(h: Harness, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """Send all bodies at once: every request is in flight before any is answered."""
    return list(await asyncio.gather(*(h.send(body) for body in bodies)))


async def integration_of(h: Harness, routing_key: str) -> Integration:
    async with h.tocsin.db.transaction() as session:
        return (await session.execute(
            select(Integration).where(Integration.integration_key == routing_key)
        )).scalar_one()


async def second_integration(h: Harness) -> Integration:
    r = await h.client.post(f"/services/{h.seed.service_id}/integrations", headers=h.writer,
                            json={"integration": {"type": "events_api_v2_inbound_integration"}})
    assert r.status_code == 201, r.text
    return await integration_of(h, r.json()["integration"]["integration_key"])


def incident_row(service_id: str, number: int, key: str) -> Incident:
    now = datetime.now(UTC)
    return Incident(
        id=new_id(), number=number, title=f"Incident {number}", status="triggered", urgency="high",
        service_id=service_id, incident_key=key, acknowledgements=[], assignments=[],
        created_at=now, updated_at=now, last_status_change_at=now,
        last_status_change_by={"id": service_id, "type": "service_reference"},
    )


def alert_row(incident: Incident, integration: Integration, key: str, status: str = "triggered") -> Alert:
    now = datetime.now(UTC)
    return Alert(
        id=new_id(), incident_id=incident.id, integration_id=integration.id, service_id=incident.service_id,
        dedup_key=key, status=status, severity="critical", summary="Disk full", body={},
        created_at=now, resolved_at=now if status == "resolved" else None,
    )


async def insert(h: Harness, *rows: Any) -> None:
    """Insert rows in the order given, in one transaction (no ORM relationships order them)."""
    async with h.tocsin.db.transaction() as session:
        for row in rows:
            session.add(row)
            await session.flush()


def is_unique_violation(exc: IntegrityError) -> bool:
    """A duplicate-key error, as opposed to, say, a foreign key one."""
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text


# --- dedup under a storm of triggers ----------------------------------------------------------


async def test_concurrent_triggers_of_one_key_make_one_incident(harness: Harness) -> None:
    responses = await fire(harness, [harness.event(dedup_key="storm") for _ in range(STORM)])
    assert [r.status_code for r in responses] == [202] * STORM
    assert {r.json()["dedup_key"] for r in responses} == {"storm"}
    assert await harness.process() == STORM
    assert await incident_total(harness) == 1
    assert await count_rows(harness, Alert, Alert.status != "resolved") == 1
    assert await count_rows(harness, Alert) == 1
    # every trigger is on record, as a log entry of the one incident
    assert await count_rows(harness, LogEntry, LogEntry.type == "trigger_log_entry") == STORM


async def test_concurrent_triggers_of_one_key_across_batches_make_one_incident(harness: Harness) -> None:
    """The first triggers open the alert; the rest race with the processor, so they meet the
    open alert in the database (not just in their own batch) in several batches."""
    first = await fire(harness, [harness.event(dedup_key="storm") for _ in range(10)])
    assert await harness.process() == 10
    tasks = [asyncio.create_task(harness.send(harness.event(dedup_key="storm"))) for _ in range(STORM - 10)]
    taken = [10]
    while not all(t.done() for t in tasks):
        taken.append(await harness.process())
        await asyncio.sleep(0)
    taken.append(await harness.process())
    responses = first + [t.result() for t in tasks]
    assert [r.status_code for r in responses] == [202] * STORM
    assert sum(taken) == STORM  # each event processed exactly once
    assert await count_rows(harness, InboxEvent) == 0
    assert await incident_total(harness) == 1
    assert await count_rows(harness, Alert) == 1
    assert await count_rows(harness, LogEntry, LogEntry.type == "trigger_log_entry") == STORM


# --- the database enforces one open alert per (integration, dedup key) ----------------------


async def test_database_refuses_a_second_open_alert_for_one_key(harness: Harness) -> None:
    integration = await integration_of(harness, harness.routing_key)
    incident = incident_row(integration.service_id, 9001, "dup")
    await insert(harness, incident, alert_row(incident, integration, "dup"))

    with pytest.raises(IntegrityError) as same_incident:
        await insert(harness, alert_row(incident, integration, "dup"))
    assert is_unique_violation(same_incident.value), same_incident.value
    other_incident = incident_row(integration.service_id, 9002, "dup")
    with pytest.raises(IntegrityError) as other:  # not even under another incident
        await insert(harness, other_incident, alert_row(other_incident, integration, "dup"))
    assert is_unique_violation(other.value), other.value
    assert await count_rows(harness, Incident) == 1  # the failed transaction left nothing behind
    assert await count_rows(harness, Alert) == 1


async def test_database_allows_resolved_alerts_and_other_integrations_to_share_a_key(harness: Harness) -> None:
    integration = await integration_of(harness, harness.routing_key)
    other = await second_integration(harness)
    incident = incident_row(integration.service_id, 9001, "dup")
    first = alert_row(incident, integration, "dup")
    await insert(harness, incident, first)

    # resolved alerts with the key, any number of them, beside the open one
    await insert(harness, alert_row(incident, integration, "dup", "resolved"),
                 alert_row(incident, integration, "dup", "resolved"))
    # the same key on another integration is another alert altogether
    await insert(harness, alert_row(incident, other, "dup"))
    # once the open alert resolves, the key may open again
    async with harness.tocsin.db.transaction() as session:
        await session.execute(update(Alert).where(Alert.id == first.id).values(status="resolved"))
    await insert(harness, alert_row(incident, integration, "dup"))

    assert await count_rows(harness, Alert, Alert.dedup_key == "dup") == 5
    assert await count_rows(harness, Alert, Alert.dedup_key == "dup", Alert.status != "resolved") == 2


# --- group commit ---------------------------------------------------------------------------


async def test_concurrent_distinct_triggers_are_group_committed(harness: Harness) -> None:
    committer = harness.tocsin.committer
    batches_before, events_before = committer.batches, committer.events
    keys = [f"host-{n}/disk" for n in range(DISTINCT)]
    responses = await fire(harness, [harness.event(dedup_key=k) for k in keys])

    assert [r.status_code for r in responses] == [202] * DISTINCT
    assert [r.json()["dedup_key"] for r in responses] == keys
    assert committer.events - events_before == DISTINCT
    batches = committer.batches - batches_before
    assert 1 <= batches < DISTINCT, f"{batches} commits for {DISTINCT} events: not batched"

    assert await harness.process() == DISTINCT
    async with harness.tocsin.db.transaction() as session:
        rows = (await session.execute(select(Incident.number, Incident.incident_key))).all()
    assert sorted(number for number, _ in rows) == list(range(1, DISTINCT + 1))
    assert sorted(str(key) for _, key in rows) == sorted(keys)
    assert await incident_total(harness) == DISTINCT
