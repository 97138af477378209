"""The hold-back rule inside a re-planned batch: a plan made stale by a REST change between
planning and writing (SQLite's processor) is redone under the write lock, and the redone plan
applies the maintenance rule to the new state — exactly once."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import Harness
from tests.maintenance.helpers import HOUR, T0, freeze, window_id
from tocsin.events.models import InboxEvent
from tocsin.events.processor import _read_batch, _write_batch
from tocsin.incidents.models import Incident
from tocsin.maintenance.models import SuppressedEvent


async def _count(h: Harness, model: type) -> int:
    async with h.tocsin.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_trigger_replanned_after_its_alert_resolved_is_held_by_the_window(harness: Harness) -> None:
    h = harness
    clock = freeze(h, T0 - HOUR)
    assert (await h.send(h.event(dedup_key="db/disk"))).status_code == 202
    assert await h.process() == 1  # opened before the window
    wid = await window_id(h, T0, T0 + HOUR)
    clock.advance(minutes=70)  # inside the window
    assert (await h.send(h.event(dedup_key="db/disk"))).status_code == 202

    async with h.tocsin.db.transaction() as session:
        batch = await session.run_sync(lambda s: _read_batch(s, 10, clock.now()))
    assert batch.prepared is not None and batch.prepared.held == []  # planned: dedup onto the open alert

    incident = (await h.client.get("/incidents", headers=h.auth, params={"date_range": "all"})).json()["incidents"][0]
    r = await h.client.put(f"/incidents/{incident['id']}", headers=h.writer,
                           json={"incident": {"type": "incident_reference", "status": "resolved"}})
    assert r.status_code == 200, r.text

    async with h.tocsin.db.transaction() as session:
        assert await session.run_sync(lambda s: _write_batch(s, batch)) == 1
    # Re-planned: no open alert any more, the window is open, so the trigger is held (once).
    assert await _count(h, Incident) == 1
    assert await _count(h, SuppressedEvent) == 1
    assert await _count(h, InboxEvent) == 0
    listed = (await h.client.get(f"/maintenance_windows/{wid}/suppressed_events", headers=h.auth)).json()
    assert [e["dedup_key"] for e in listed["suppressed_events"]] == ["db/disk"]
