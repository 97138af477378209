"""Retention (tocsin.events.retention): change events and suppressed maintenance triggers older
than 90 days are deleted in small batches; younger ones stay and the API answers as before."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from tests.conftest import Harness
from tests.maintenance.helpers import HOUR, T0, clock, freeze, window_id
from tocsin.events.models import CHANGE_EVENT_RETENTION, ChangeEvent
from tocsin.events.retention import BATCH, RetentionSweeper
from tocsin.ids import new_id
from tocsin.maintenance.models import SUPPRESSED_EVENT_RETENTION, SuppressedEvent

DAY = timedelta(days=1)


@pytest.fixture
def h(harness: Harness) -> Harness:
    freeze(harness)
    return harness


async def count(h: Harness, model: Any) -> int:
    async with h.tocsin.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def add_change_events(h: Harness, *stamps: datetime, summary: str = "deploy") -> None:
    rows: list[dict[str, Any]] = [{"id": new_id(), "integration_id": "PINTEGR", "service_id": h.seed.service_id,
             "summary": f"{summary} {i}", "source": "ci", "timestamp": at, "custom_details": None,
             "links": [], "created_at": at} for i, at in enumerate(stamps)]
    async with h.tocsin.db.transaction() as session:
        await session.execute(insert(ChangeEvent), rows)


async def add_suppressed(h: Harness, wid: str, *stamps: datetime, key: str = "key") -> None:
    rows = [{"id": new_id(), "window_id": wid, "service_id": h.seed.service_id, "integration_id": "PINTEGR",
             "dedup_key": f"{key}-{i}", "summary": "held", "severity": "critical", "payload": {"n": i},
             "received_at": at, "suppressed_at": at} for i, at in enumerate(stamps)]
    async with h.tocsin.db.transaction() as session:
        await session.execute(insert(SuppressedEvent), rows)


async def change_events(h: Harness) -> dict[str, Any]:
    resp = await h.client.get("/change_events", params={"total": "true", "limit": 100}, headers=h.auth)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def suppressed(h: Harness, wid: str, **params: Any) -> dict[str, Any]:
    resp = await h.client.get(f"/maintenance_windows/{wid}/suppressed_events", params={"total": "true", **params},
                              headers=h.auth)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_both_tables_keep_90_days() -> None:
    assert CHANGE_EVENT_RETENTION == SUPPRESSED_EVENT_RETENTION == timedelta(days=90)


async def test_old_change_events_are_deleted_and_the_api_answers_as_before(h: Harness) -> None:
    now = T0
    edge = now - CHANGE_EVENT_RETENTION  # still shown (the API keeps timestamp >= edge)
    await add_change_events(h, now - 400 * DAY, edge - timedelta(seconds=1), edge, now - DAY, now)
    before = await change_events(h)
    assert before["total"] == 3

    assert await h.tocsin.retention.sweep() == 2

    assert await count(h, ChangeEvent) == 3
    assert await change_events(h) == before


async def test_change_events_age_out_as_the_clock_moves(h: Harness) -> None:
    # Sent through the Events API and processed, like any change event.
    for day in (1, 30):
        body = {"routing_key": h.routing_key,
                "payload": {"summary": f"deploy {day}", "timestamp": (T0 - day * DAY).isoformat()}}
        assert (await h.send(body, "/v2/change/enqueue")).status_code == 202
    assert await h.process() == 2

    assert await h.tocsin.retention.sweep() == 0
    clock(h).advance(days=80)  # "deploy 30" is now 110 days old, "deploy 1" 81
    shown = await change_events(h)
    assert [e["summary"] for e in shown["change_events"]] == ["deploy 1"]

    assert await h.tocsin.retention.sweep() == 1
    assert await change_events(h) == shown
    clock(h).advance(days=10)
    assert await h.tocsin.retention.sweep() == 1
    assert await count(h, ChangeEvent) == 0


async def test_old_suppressed_events_are_deleted_and_younger_ones_listed_as_before(h: Harness) -> None:
    wid = await window_id(h, T0, T0 + HOUR)
    clock(h).advance(minutes=10)
    resp = await h.send(h.event("trigger", "db/disk", summary="Disk 95% on db-1"))
    assert resp.status_code == 202, resp.text
    await h.process()
    [held] = (await suppressed(h, wid))["suppressed_events"]

    clock(h).advance(days=89)
    assert await h.tocsin.retention.sweep() == 0
    listed = await suppressed(h, wid)
    assert listed["suppressed_events"] == [held]

    clock(h).advance(days=1)  # exactly 90 days: kept
    assert await h.tocsin.retention.sweep() == 0
    assert await suppressed(h, wid) == listed

    clock(h).advance(seconds=1)
    assert await h.tocsin.retention.sweep() == 1
    assert (await suppressed(h, wid))["suppressed_events"] == []
    assert await count(h, SuppressedEvent) == 0


async def test_a_backlog_larger_than_a_batch_is_removed_entirely(h: Harness) -> None:
    wid = await window_id(h, T0, T0 + HOUR)
    old = T0 - 200 * DAY
    backlog = 2 * BATCH + 7
    await add_change_events(h, *[old + timedelta(seconds=i) for i in range(backlog)])
    await add_suppressed(h, wid, *[old + timedelta(seconds=i) for i in range(backlog)])
    await add_change_events(h, T0 - DAY, summary="recent")
    await add_suppressed(h, wid, T0 - DAY, key="recent")
    shown = await change_events(h)
    # Listed oldest first: the recent one is last.
    recent = (await suppressed(h, wid, offset=backlog, limit=10))["suppressed_events"]
    assert [e["dedup_key"] for e in recent] == ["recent-0"]

    assert await h.tocsin.retention.sweep() == 2 * backlog

    assert await count(h, ChangeEvent) == 1 and await count(h, SuppressedEvent) == 1
    assert await change_events(h) == shown
    assert (await suppressed(h, wid))["suppressed_events"] == recent


async def test_each_statement_deletes_at_most_one_batch(h: Harness) -> None:
    await add_change_events(h, *[T0 - 100 * DAY + timedelta(seconds=i) for i in range(25)])
    seen: list[int] = []
    sweeper = RetentionSweeper(h.tocsin.db, now=lambda: h.tocsin.runtime.clock.now(), batch=10)
    original = sweeper._delete_batch

    async def spy(prune: Any, at: datetime) -> int | None:
        deleted = await original(prune, at)
        seen.append(deleted or 0)
        return deleted

    sweeper._delete_batch = spy  # type: ignore[method-assign]  # a spy on this one sweeper's batches
    assert await sweeper.sweep() == 25
    assert seen == [10, 10, 5, 0]  # change events in three statements, then no suppressed events
    assert await count(h, ChangeEvent) == 0


async def test_concurrent_sweeps_neither_fail_nor_leave_rows(h: Harness) -> None:
    """Two sweepers at once (on PostgreSQL: as two nodes would) delete everything, once."""
    backlog = BATCH + 3
    await add_change_events(h, *[T0 - 100 * DAY + timedelta(seconds=i) for i in range(backlog)])
    now = lambda: h.tocsin.runtime.clock.now()  # noqa: E731
    first, second = RetentionSweeper(h.tocsin.db, now=now), RetentionSweeper(h.tocsin.db, now=now)
    deleted = await asyncio.gather(first.sweep(), second.sweep())
    assert sum(deleted) == backlog
    assert await count(h, ChangeEvent) == 0


async def test_the_background_task_sweeps(h: Harness) -> None:
    await add_change_events(h, T0 - 100 * DAY, T0)
    sweeper = RetentionSweeper(h.tocsin.db, now=lambda: h.tocsin.runtime.clock.now(), interval=0.01)
    sweeper.start()
    try:
        for _ in range(500):
            if sweeper.deleted:
                break
            await asyncio.sleep(0.01)
    finally:
        await sweeper.stop()
    assert sweeper.deleted == 1
    assert await count(h, ChangeEvent) == 1


async def test_the_app_starts_and_stops_the_sweeper_with_the_worker(h: Harness) -> None:
    await add_change_events(h, T0 - 100 * DAY)
    tocsin = h.tocsin
    tocsin._start_worker = True
    async with tocsin.rest.router.lifespan_context(tocsin.rest):
        for _ in range(500):
            if tocsin.retention.deleted:
                break
            await asyncio.sleep(0.01)
        assert tocsin.retention._task is not None and not tocsin.retention._task.done()
    assert tocsin.retention._task.done()
    assert tocsin.retention.deleted == 1
