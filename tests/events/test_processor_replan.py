"""The SQLite processor plans outside the write lock; a plan made stale by a REST change
between planning and writing must be redone, not applied."""

from __future__ import annotations

from tests.conftest import Harness
from tocsin.events.processor import _read_batch, _write_batch


async def test_trigger_planned_against_an_alert_resolved_meanwhile_opens_a_new_incident(harness: Harness) -> None:
    await harness.send(harness.event(dedup_key="db/disk"))
    await harness.process()
    await harness.send(harness.event(dedup_key="db/disk"))  # waits in the inbox
    async with harness.tocsin.db.transaction() as session:
        batch = await session.run_sync(lambda s: _read_batch(s, 10, harness.tocsin.runtime.clock.now()))
    assert batch.prepared is not None and len(batch.prepared.writer.new_incidents) == 0  # planned: add_trigger

    incident = (await harness.client.get("/incidents", headers=harness.auth)).json()["incidents"][0]
    body = {"incident": {"type": "incident_reference", "status": "resolved"}}
    assert (await harness.client.put(f"/incidents/{incident['id']}", json=body,
                                     headers=harness.writer)).status_code == 200

    async with harness.tocsin.db.transaction() as session:
        assert await session.run_sync(lambda s: _write_batch(s, batch)) == 1
    listed = (await harness.client.get("/incidents", params={"incident_key": "db/disk"}, headers=harness.auth)).json()
    assert sorted(i["status"] for i in listed["incidents"]) == ["resolved", "triggered"]
