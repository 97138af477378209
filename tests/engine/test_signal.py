"""Waking engines when work is stored: after the commit in this process, through PostgreSQL's
NOTIFY in others (and never for a transaction that rolled back)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.engine.steps import ScriptedStep
from tocsin.clock import SystemClock
from tocsin.db.session import Database
from tocsin.engine.listener import APPLICATION_NAME, asyncpg_dsn
from tocsin.engine.loop import Engine
from tocsin.engine.metrics import EngineMetrics
from tocsin.engine.signal import announce, decode, encode
from tocsin.engine.step import StepResult


async def far_off(now: datetime) -> StepResult:
    return StepResult(next_due=now + timedelta(hours=1))


class Rollback(Exception):
    pass


async def test_the_wake_waits_for_the_commit_and_is_dropped_on_rollback(database: Database) -> None:
    wakes: list[str] = []
    dues: list[Mapping[str, datetime] | None] = []
    soon, later = datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 10, tzinfo=UTC)

    def store_work(session: Session, label: str) -> None:
        def wake(due: Mapping[str, datetime] | None) -> None:
            wakes.append(label)
            dues.append(due)
        announce(session, wake, {"notify": later, "clock": later})
        announce(session, wake, {"notify": soon, "escalate": later})  # merged: one wake per transaction
        assert label not in wakes  # not before the commit

    async with database.transaction() as session:
        await session.run_sync(store_work, "committed")
    assert wakes == ["committed"]
    assert dues == [{"notify": soon, "clock": later, "escalate": later}]  # each step's earliest

    async def rolled_back() -> None:
        async with database.transaction() as session:
            await session.run_sync(store_work, "rolled back")
            raise Rollback

    with pytest.raises(Rollback):
        await rolled_back()
    assert wakes == ["committed"]
    async with database.transaction() as session:  # a new transaction announces again
        await session.run_sync(store_work, "again")
    assert wakes == ["committed", "again"]


async def _engine_listening(db: Database) -> tuple[Engine, ScriptedStep]:
    step = ScriptedStep("idle", far_off)  # asleep for its 5 s cap unless woken
    engine = Engine(db, SystemClock().now, [step], EngineMetrics())
    engine.start()
    assert engine.listener is not None
    await asyncio.wait_for(engine.listener.listening.wait(), 5)
    await step.until_runs(1)
    # The listener wakes the engine once after connecting (work it may have missed): let that pass.
    seen = -1
    while seen != len(step.runs):
        seen = len(step.runs)
        await asyncio.sleep(0.5)
    return engine, step


async def _announce_from(db: Database, *, commit: bool, step: ScriptedStep | None = None) -> tuple[float, int]:
    """Store "work" through another Database (as another process would); when it committed, and
    how many runs ``step`` had made just before the commit."""
    runs_before_commit = -1
    try:
        async with db.transaction() as session:
            await session.run_sync(announce, lambda _: None, {"idle": datetime.now(UTC)})
            await asyncio.sleep(0.2)  # the NOTIFY is sent but not committed: nobody hears it yet
            runs_before_commit = len(step.runs) if step is not None else -1
            if not commit:
                raise Rollback
    except Rollback:
        pass
    return time.monotonic(), runs_before_commit


@pytest.mark.postgres
async def test_a_notify_committed_through_another_database_wakes_the_engine(pg_empty: str) -> None:
    engine_db, other_db = Database(pg_empty), Database(pg_empty)
    engine, step = await _engine_listening(engine_db)
    try:
        before = len(step.runs)
        await _announce_from(other_db, commit=False)
        await asyncio.sleep(0.3)
        assert len(step.runs) == before  # rolled back: no wake
        committed, runs_before_commit = await _announce_from(other_db, commit=True, step=step)
        assert runs_before_commit == before  # held until the commit (the wake may come as it returns)
        # well under the 5 s safety-net sleep (slack for a loaded CI machine)
        assert await step.until_runs(before + 1, within=3.0) - committed < 3.0
    finally:
        await engine.stop()
        await engine_db.dispose()
        await other_db.dispose()


@pytest.mark.postgres
async def test_the_listener_reconnects_when_its_connection_is_killed(pg_empty: str) -> None:
    engine_db, other_db = Database(pg_empty), Database(pg_empty)
    engine, step = await _engine_listening(engine_db)
    assert engine.listener is not None
    try:
        before = len(step.runs)
        admin = await asyncpg.connect(asyncpg_dsn(pg_empty))
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1 AND datname = current_database()", APPLICATION_NAME)
        finally:
            await admin.close()
        assert killed == 1
        # Listening again after the first pause, and it looks for work it may have missed.
        await step.until_runs(before + 1, within=3.0)
        assert engine.listener.connects == 2
        runs = len(step.runs)
        committed, _ = await _announce_from(other_db, commit=True)
        assert await step.until_runs(runs + 1, within=1.0) - committed < 1.0
    finally:
        await engine.stop()
        await engine_db.dispose()
        await other_db.dispose()


async def test_no_listener_on_sqlite(sqlite_db: Database) -> None:
    engine = Engine(sqlite_db, SystemClock().now, [], EngineMetrics())
    assert engine.listener is None
    async with sqlite_db.transaction() as session:  # and announce sends no NOTIFY there
        await session.run_sync(announce, engine.wake, {"notify": datetime.now(UTC)})
        assert (await session.execute(text("SELECT 1"))).scalar() == 1


def test_a_notify_payload_names_the_steps_and_their_times() -> None:
    due = {"notify": datetime(2026, 3, 2, 9, 0, 0, 250000, tzinfo=UTC),
           "escalate": datetime(2026, 3, 2, 9, 30, tzinfo=UTC)}
    assert encode(due) == "escalate=1772443800.000,notify=1772442000.250"
    assert decode(encode(due)) == due
    assert decode("") is None  # an older Tocsin's bare NOTIFY: look at everything
    assert decode("notify=soon") is None
