"""The reconciler walks every open incident once an interval, page by page, hands each page to
the planner, and logs every repair loudly; engines sharing a database share one walk."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import Harness
from tocsin.clock import FrozenClock
from tocsin.engine.loop import Engine
from tocsin.engine.metrics import EngineMetrics
from tocsin.engine.reconcile import ReconcileStep
from tocsin.incidents.models import Incident

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def open_incidents(h: Harness, count: int) -> list[str]:
    for i in range(count):
        assert (await h.send(h.event(dedup_key=f"k{i}"))).status_code == 202
    await h.process()
    async with h.tocsin.db.transaction() as session:
        return list(await session.scalars(select(Incident.id).order_by(Incident.id)))


class Planner:
    """Stands in for planner.sync_incidents: records the pages, repairs what it is told to."""

    def __init__(self, repairs: Sequence[int | Collection[str]] = ()) -> None:
        self.pages: list[list[str]] = []
        self._repairs = list(repairs)

    def __call__(self, session: Session, incident_ids: Sequence[str], now: datetime) -> int | Collection[str]:
        assert session.in_transaction()
        self.pages.append(list(incident_ids))
        return self._repairs.pop(0) if self._repairs else 0


async def test_every_open_incident_is_walked_once_an_interval_and_each_repair_logged(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    ids = await open_incidents(harness, 5)
    assert (await harness.send(harness.event("resolve", dedup_key="k0"))).status_code == 202
    await harness.process()
    async with harness.tocsin.db.transaction() as session:
        resolved = await session.scalar(select(Incident.id).where(Incident.status == "resolved"))
    open_ids = [i for i in ids if i != resolved]
    clock, metrics = FrozenClock(T0), EngineMetrics()
    planner = Planner([[open_ids[1]], 2])
    step = ReconcileStep(harness.tocsin.db, metrics, page_size=2, sync=planner)
    engine = Engine(harness.tocsin.db, clock.now, [step], metrics)

    summary = await engine.tick()
    assert planner.pages == [open_ids[:2], open_ids[2:]]  # keyset pages; the resolved one is not open
    assert step.walks == 1 and summary.done == {"reconcile": 3} and metrics.repairs() == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"reconcile: REPAIRED incident {open_ids[1]}: it lacked the pending work it needs" in warnings
    assert (f"reconcile: REPAIRED 2 open incident(s) with {open_ids[2]} ... {open_ids[3]} "
            "that lacked the work they need") in warnings

    clock.advance(seconds=59)
    await engine.tick()
    assert step.walks == 1  # not yet
    clock.advance(seconds=1)
    await engine.tick()
    assert step.walks == 2 and len(planner.pages) == 4

    # Another engine on the same database finds this walk recent and waits for the next interval.
    other_planner = Planner()
    other = ReconcileStep(harness.tocsin.db, EngineMetrics(), page_size=2, sync=other_planner)
    clock.advance(seconds=30)
    assert (await other.run(clock.now())).next_due == T0 + timedelta(minutes=2)
    assert other_planner.pages == []
    clock.advance(seconds=30)
    result = await other.run(clock.now())
    assert result.more and other_planner.pages == [open_ids[:2]]


async def test_the_app_builds_the_engine_with_the_reconciler_and_tests_tick_it(harness: Harness) -> None:
    await open_incidents(harness, 1)
    engine = harness.tocsin.engine
    assert [step.name for step in engine.steps] == ["notify", "webhooks", "escalate", "clock", "handoff", "reconcile"]
    assert not engine.running  # the harness never runs the lifespan
    summary = await engine.tick()
    # the admin's default rule emails at once (failed here: email is not configured); nothing to repair
    assert summary.done == {"notify": 1, "webhooks": 0, "escalate": 0, "clock": 0, "handoff": 0,
                            "reconcile": 0} and not summary.failed
    # a round that did work (the send) is followed by one that finds nothing: tick() settles
    assert summary.rounds == 2 and engine.metrics.step_runs("reconcile") == 2
