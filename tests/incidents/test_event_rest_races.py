"""Events racing REST changes to the same incident (PostgreSQL row locks; SQLite's write lock).

A REST transaction that resolves an incident and has not committed yet must not let the event
processor plan against the old state: a trigger arriving meanwhile must open a new incident once
the resolve commits, never be appended to the resolved one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tocsin.incidents import logic
from tocsin.incidents.models import Incident, LogEntry
from tocsin.incidents.queries import get_incident


async def _incident_id(h: Harness, key: str) -> str:
    async with h.tocsin.db.transaction() as session:
        return (await session.execute(select(Incident.id).where(Incident.incident_key == key))).scalar_one()


async def test_trigger_processed_while_a_rest_resolve_is_uncommitted_opens_a_new_incident(harness: Harness) -> None:
    h = harness
    assert (await h.send(h.event(dedup_key="race/resolve"))).status_code == 202
    assert await h.process() == 1
    first = await _incident_id(h, "race/resolve")
    assert (await h.send(h.event(dedup_key="race/resolve"))).status_code == 202  # waits in the inbox

    processing: asyncio.Task[int] | None = None
    async with h.tocsin.db.transaction() as session:
        incident = await get_incident(session, first, for_update=True)
        await logic.resolve(session, incident, logic.agent_of("PTESTER"), incident.updated_at, "Resolved.")
        await session.flush()
        processing = asyncio.create_task(h.process())
        await asyncio.sleep(0.5)  # the processor runs while the resolve is uncommitted
    assert await processing == 1

    async with h.tocsin.db.transaction() as session:
        rows = (await session.execute(
            select(Incident.id, Incident.status).where(Incident.incident_key == "race/resolve"))).all()
        triggers_on_first = (await session.execute(select(LogEntry.id).where(
            LogEntry.incident_id == first, LogEntry.type == "trigger_log_entry"))).all()
    assert sorted(status for _, status in rows) == ["resolved", "triggered"], rows
    assert len(triggers_on_first) == 1  # the second trigger went to the new incident


async def test_resolve_event_processed_while_a_rest_resolve_is_uncommitted_changes_nothing(harness: Harness) -> None:
    h = harness
    assert (await h.send(h.event(dedup_key="race/both"))).status_code == 202
    assert await h.process() == 1
    first = await _incident_id(h, "race/both")
    assert (await h.send(h.event("resolve", "race/both"))).status_code == 202

    async with h.tocsin.db.transaction() as session:
        incident = await get_incident(session, first, for_update=True)
        await logic.resolve(session, incident, logic.agent_of("PTESTER"), incident.updated_at, "Resolved.")
        await session.flush()
        processing = asyncio.create_task(h.process())
        await asyncio.sleep(0.5)
    assert await processing == 1

    async with h.tocsin.db.transaction() as session:
        after = await session.get(Incident, first)
        assert after is not None
        resolves = (await session.execute(select(LogEntry.agent).where(
            LogEntry.incident_id == first, LogEntry.type == "resolve_log_entry"))).scalars().all()
    # Resolved once, by the REST user: the late event found no open alert and did nothing.
    assert after.status == "resolved"
    assert after.last_status_change_by == logic.agent_of("PTESTER")
    assert [a["id"] for a in resolves] == ["PTESTER"]


async def test_bulk_update_in_any_order_does_not_deadlock_with_the_processor(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """PUT /incidents names incidents in any order; the processor locks the incidents it touches
    in id order. The bulk update must lock in that same order, or the two can deadlock (and
    PostgreSQL would abort the REST request with a 500)."""
    from tocsin.incidents import routes

    h = harness
    for key in ("dl/1", "dl/2"):
        assert (await h.send(h.event(dedup_key=key))).status_code == 202
    assert await h.process() == 2
    ids = sorted([await _incident_id(h, "dl/1"), await _incident_id(h, "dl/2")])
    for key in ("dl/1", "dl/2"):
        assert (await h.send(h.event("acknowledge", key))).status_code == 202

    resume = asyncio.Event()
    first_done = asyncio.Event()
    real = routes.logic.update_incident

    async def paused_after_first(*args: Any, **kwargs: Any) -> Any:
        result = await real(*args, **kwargs)
        if not first_done.is_set():
            first_done.set()
            await resume.wait()
        return result

    monkeypatch.setattr(routes.logic, "update_incident", paused_after_first)
    body = {"incidents": [{"id": i, "type": "incident_reference", "status": "resolved"} for i in reversed(ids)]}
    bulk = asyncio.create_task(h.client.put("/incidents", headers=h.writer, json=body))
    await first_done.wait()  # the bulk update holds the higher id's row
    processing = asyncio.create_task(h.process())
    await asyncio.sleep(0.5)  # the processor locks what it can meanwhile
    resume.set()
    answer = await bulk
    assert answer.status_code == 200, answer.text
    assert await processing == 2
    # Neither side was chosen as a deadlock victim (the processor would retry one by one).
    assert not [r for r in caplog.records if "deadlock" in str(r.exc_info).lower() or "batch failed" in r.getMessage()]
    async with h.tocsin.db.transaction() as session:
        statuses = (await session.execute(select(Incident.status).where(Incident.id.in_(ids)))).scalars().all()
    assert statuses == ["resolved", "resolved"]
