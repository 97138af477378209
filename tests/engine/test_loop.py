"""The tick loop with scripted steps: waking, sleeping until work is due, budgets, failures,
retries of serialization failures, and tick() running until nothing is left at the clock."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.engine.rows import add_notifications
from tests.engine.steps import ScriptedStep
from tocsin.clock import FrozenClock, SystemClock
from tocsin.db.session import Database
from tocsin.engine.loop import ATTEMPTS, MAX_TICK_ROUNDS, Engine, is_retryable
from tocsin.engine.metrics import EngineMetrics
from tocsin.engine.step import Step, StepResult
from tocsin.notifications.models import SENT

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def engine_of(db: Database, *steps: Step, now: FrozenClock | SystemClock | None = None) -> Engine:
    return Engine(db, (now or FrozenClock(T0)).now, steps, EngineMetrics())


async def far_off(now: datetime) -> StepResult:
    return StepResult(next_due=now + HOUR)


def serialization_failure(sqlstate: str = "40001") -> DBAPIError:
    """What SQLAlchemy raises for asyncpg's error: a DBAPIError whose ``orig`` has the SQLSTATE."""
    driver_error = {"40001": asyncpg.exceptions.SerializationError,
                    "40P01": asyncpg.exceptions.DeadlockDetectedError,
                    "23505": asyncpg.exceptions.UniqueViolationError}[sqlstate]("conflict")
    return DBAPIError("UPDATE incident_timers ...", None, driver_error)


# --- waking and sleeping -------------------------------------------------------------------------


async def test_a_wake_runs_a_sleeping_loop_at_once_from_any_thread(sqlite_db: Database) -> None:
    step = ScriptedStep("idle", far_off)  # nothing due for an hour: the loop sleeps its 5 s cap
    engine = engine_of(sqlite_db, step, now=SystemClock())
    engine.start()
    try:
        await step.until_runs(1)
        await asyncio.sleep(0.05)  # asleep now
        woken = time.monotonic()
        engine.wake()
        assert await step.until_runs(2) - woken < 0.2
        await asyncio.sleep(0.05)
        # SQLite commits (and so wakes) in its writer thread.
        woken = time.monotonic()
        threading.Thread(target=engine.wake).start()
        assert await step.until_runs(3) - woken < 0.2
        await asyncio.sleep(0.3)
        assert len(step.runs) == 3  # and no blind polling in between
    finally:
        await engine.stop()


async def test_the_loop_sleeps_until_the_earliest_next_due(sqlite_db: Database) -> None:
    clock = SystemClock()

    async def soon_then_later(now: datetime) -> StepResult:
        return StepResult(next_due=now + (timedelta(seconds=0.3) if len(step.runs) == 1 else HOUR))

    step = ScriptedStep("timer", soon_then_later)
    other = ScriptedStep("other", far_off)
    engine = engine_of(sqlite_db, step, other, now=clock)
    engine.start()
    try:
        first = await step.until_runs(1)
        second = await step.until_runs(2)
        assert 0.28 <= second - first < 0.6
        await asyncio.sleep(0.4)
        assert len(step.runs) == 2  # the next is an hour off (5 s cap): it sleeps
    finally:
        await engine.stop()


async def test_more_runs_again_at_once_and_locked_rows_are_looked_at_again_soon(sqlite_db: Database) -> None:
    async def batches(now: datetime) -> StepResult:
        if len(step.runs) < 3:
            return StepResult(done=100, more=True)
        return StepResult(skipped_locked=True, next_due=now + HOUR)

    step = ScriptedStep("batches", batches)
    engine = engine_of(sqlite_db, step, now=SystemClock())
    engine.start()
    try:
        first = await step.until_runs(1)
        assert await step.until_runs(3) - first < 0.2  # full batches: no sleep in between
        third = step.real_times[2]
        assert 0.45 <= await step.until_runs(4) - third < 1.0  # rows another engine holds: 0.5 s
    finally:
        await engine.stop()


async def test_a_step_that_runs_apart_runs_at_once_while_a_step_in_line_is_busy(sqlite_db: Database) -> None:
    """The webhooks step only claims and starts sends: work announced for it must not wait while
    the notify step sends a batch. A manual tick() still runs it, in order, and never beside its
    own loop's run."""
    release = asyncio.Event()
    overlapping: list[bool] = []
    running = [0]

    async def sending(now: datetime) -> StepResult:
        await release.wait()
        return StepResult(next_due=now + HOUR)

    async def claiming(now: datetime) -> StepResult:
        running[0] += 1
        overlapping.append(running[0] > 1)
        await asyncio.sleep(0.01)
        running[0] -= 1
        return StepResult(next_due=now + HOUR)

    in_line = ScriptedStep("notify", sending, budget_seconds=5.0)
    apart = ScriptedStep("webhooks", claiming, runs_apart=True)
    engine = engine_of(sqlite_db, in_line, apart, now=SystemClock())
    engine.start()
    try:
        await in_line.until_runs(1)
        await apart.until_runs(1)  # every step runs once at start
        woken = time.monotonic()
        engine.wake({"notify": T0, "webhooks": T0})
        assert await apart.until_runs(2) - woken < 0.2
        assert len(in_line.runs) == 1 and not release.is_set()  # notify is still sending its batch
        release.set()
        before = len(apart.runs)
        engine.wake({"webhooks": T0})  # its own loop runs it, and so does tick(): never both at once
        await engine.tick()
        assert len(apart.runs) > before
    finally:
        await engine.stop()
    assert not any(overlapping)
    assert engine.running is False


# --- budgets and failures ------------------------------------------------------------------------


async def test_a_step_over_its_budget_is_cut_off_logged_and_the_others_still_run(
        sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    finished = []

    async def hangs(now: datetime) -> StepResult:
        await asyncio.sleep(30)
        finished.append(now)
        return StepResult()

    def works_once(name: str) -> ScriptedStep:
        async def behaviour(now: datetime) -> StepResult:
            return StepResult(done=1 if len(step.runs) == 1 else 0)

        step = ScriptedStep(name, behaviour)
        return step

    before, slow, after = works_once("before"), ScriptedStep("slow", hangs, 0.1), works_once("after")
    engine = engine_of(sqlite_db, before, slow, after)
    started = time.monotonic()
    summary = await engine.tick()
    assert time.monotonic() - started < 1.0
    assert summary.failed == {"slow"}
    assert summary.done["after"] == 1 and summary.done["before"] == 1
    assert not finished
    assert engine.metrics.step_errors("slow", "timeout") == len(slow.runs) == summary.rounds == 2
    assert engine.metrics.step_runs("slow") == 2
    assert "engine step slow ran past its budget of 0.1 s and was cut off" in caplog.text


async def test_an_exception_in_one_step_stops_neither_the_others_nor_the_loop(
        sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(now: datetime) -> StepResult:
        raise ValueError("a bug in a step")

    bad, good = ScriptedStep("bad", broken), ScriptedStep("good", far_off)
    engine = engine_of(sqlite_db, bad, good, now=SystemClock())
    engine.start()
    try:
        await good.until_runs(1)
        engine.wake()
        await good.until_runs(2)
        assert len(bad.runs) >= 2  # the loop lived on and ran it again
    finally:
        await engine.stop()
    assert engine.metrics.step_errors("bad", "exception") == len(bad.runs)
    assert engine.metrics.step_errors("good", "exception") == 0
    assert "engine step bad failed" in caplog.text and "ValueError: a bug in a step" in caplog.text


async def test_a_timeout_raised_inside_a_step_is_an_error_not_a_budget_overrun(sqlite_db: Database) -> None:
    async def provider_timeout(now: datetime) -> StepResult:
        raise TimeoutError("SMTP server did not answer")

    engine = engine_of(sqlite_db, ScriptedStep("notify", provider_timeout))
    assert (await engine.tick()).failed == {"notify"}
    assert engine.metrics.step_errors("notify", "exception") == 1
    assert engine.metrics.step_errors("notify", "timeout") == 0


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
async def test_a_serialization_failure_or_deadlock_is_retried(sqlite_db: Database, sqlstate: str) -> None:
    async def conflicts_twice(now: datetime) -> StepResult:
        if len(step.runs) <= 2:
            raise serialization_failure(sqlstate)
        return StepResult(done=1 if len(step.runs) == 3 else 0)

    step = ScriptedStep("escalate", conflicts_twice)
    engine = engine_of(sqlite_db, step)
    summary = await engine.tick()
    assert summary.done["escalate"] == 1 and not summary.failed
    assert len(step.runs) == 4  # two conflicts, the success, then a round that found nothing
    assert engine.metrics.step_errors("escalate", "exception") == 0


async def test_retries_give_up_and_other_errors_are_not_retried(sqlite_db: Database) -> None:
    async def always_conflicts(now: datetime) -> StepResult:
        raise serialization_failure()

    async def duplicate(now: datetime) -> StepResult:
        raise serialization_failure("23505")  # a unique violation is a bug, not a race to retry

    conflicting, failing = ScriptedStep("conflicting", always_conflicts), ScriptedStep("failing", duplicate)
    engine = engine_of(sqlite_db, conflicting, failing)
    summary = await engine.tick()
    assert summary.failed == {"conflicting", "failing"}
    assert len(conflicting.runs) == ATTEMPTS
    assert len(failing.runs) == 1


def test_retryable_errors_are_found_through_the_chain() -> None:
    assert is_retryable(serialization_failure("40001"))
    assert is_retryable(serialization_failure("40P01"))
    assert not is_retryable(serialization_failure("23505"))
    assert not is_retryable(ValueError("40001"))

    def wrapped_failure() -> None:  # a wrapper raised while handling the driver's error
        try:
            raise asyncpg.exceptions.SerializationError("conflict")
        except asyncpg.PostgresError as exc:
            raise RuntimeError("step failed") from exc

    with pytest.raises(RuntimeError) as wrapped:
        wrapped_failure()
    assert is_retryable(wrapped.value)


@pytest.mark.postgres
async def test_a_real_serialization_failure_from_postgresql_is_retried(pg_empty: str) -> None:
    db = Database(pg_empty)

    async def conflicts_once(now: datetime) -> StepResult:
        async with db.transaction() as session:
            if len(step.runs) == 1:  # PostgreSQL raises SQLSTATE 40001, through asyncpg and SQLAlchemy
                await session.execute(text(
                    "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$"))
            return StepResult(done=1 if len(step.runs) == 2 else 0)

    step = ScriptedStep("escalate", conflicts_once)
    engine = engine_of(db, step)
    try:
        summary = await engine.tick()
    finally:
        await db.dispose()
    assert summary.done["escalate"] == 1 and not summary.failed


# --- tick(): the tests' manual trigger ------------------------------------------------------------


async def test_tick_runs_until_no_step_has_work_at_the_clock(sqlite_db: Database) -> None:
    clock = FrozenClock(T0)
    timers = [T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)]
    sends: list[datetime] = []  # work the timer step makes for the send step

    async def send(now: datetime) -> StepResult:
        taken = len(sends)
        sends.clear()
        return StepResult(done=taken)

    async def fire_timers(now: datetime) -> StepResult:
        due = [t for t in timers if t <= now][:1]  # one per batch: a full batch says "more"
        for t in due:
            timers.remove(t)
            sends.append(t)
        left = any(t <= now for t in timers)
        return StepResult(done=len(due), more=left, next_due=min(timers, default=None))

    # The send step runs first, so a send made by a timer is only taken in the next round.
    engine = engine_of(sqlite_db, ScriptedStep("notify", send), ScriptedStep("escalate", fire_timers), now=clock)
    assert (await engine.tick()).done == {"notify": 0, "escalate": 0}
    clock.advance(minutes=10)
    summary = await engine.tick()
    assert summary.done == {"notify": 2, "escalate": 2}
    assert not timers and not sends
    assert summary.rounds == 4  # two timer batches, the last send, one quiet round


async def test_tick_gives_up_on_a_step_that_reports_due_work_it_never_takes(
        sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    async def stuck(now: datetime) -> StepResult:
        return StepResult(next_due=now - timedelta(minutes=1))

    step = ScriptedStep("stuck", stuck)
    summary = await engine_of(sqlite_db, step).tick()
    assert summary.rounds == 2 and len(step.runs) == 2
    assert "steps ['stuck'] report work due now but take none" in caplog.text


async def test_tick_measures_the_oldest_due_lag(sqlite_db: Database) -> None:
    clock = FrozenClock(T0)
    async with sqlite_db.transaction() as session:
        await add_notifications(session, T0 - timedelta(seconds=90), T0 + HOUR)
        await add_notifications(session, T0 - HOUR, status=SENT)  # done with: not late
    engine = engine_of(sqlite_db, now=clock)
    await engine.tick()
    assert engine.metrics.lag_seconds() == 90.0
    clock.advance(seconds=10)
    await engine.tick()
    assert engine.metrics.lag_seconds() == 100.0


# --- start and stop -----------------------------------------------------------------------------


async def test_stop_lets_the_running_step_finish_then_ends_the_loop(sqlite_db: Database) -> None:
    finished: list[datetime] = []
    second = ScriptedStep("second")

    async def slow(now: datetime) -> StepResult:
        await asyncio.sleep(0.2)
        finished.append(now)
        return StepResult()

    first = ScriptedStep("first", slow)
    engine = engine_of(sqlite_db, first, second, now=SystemClock())
    engine.start()
    await first.until_runs(1)
    assert engine.running
    await engine.stop()
    assert finished  # not cancelled half way
    assert not second.runs  # the loop ended after the step that was running
    assert not engine.running


def test_step_names_must_be_distinct(sqlite_db: Database) -> None:
    with pytest.raises(ValueError, match="distinct names"):
        engine_of(sqlite_db, ScriptedStep("a"), ScriptedStep("a"))


async def test_health_names_every_step(sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    engine = engine_of(sqlite_db, ScriptedStep("escalate"), ScriptedStep("notify"))
    await engine.tick()
    line = engine.health()
    assert "1 ticks" in line and "escalate 1 runs 0 failed" in line and "notify 1 runs 0 failed" in line


async def test_tick_gives_up_on_a_step_that_always_has_more(
        sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    async def endless(now: datetime) -> StepResult:
        return StepResult(more=True)

    summary = await engine_of(sqlite_db, ScriptedStep("endless", endless)).tick()
    assert summary.rounds == MAX_TICK_ROUNDS
    assert f"engine tick: steps still report more work after {MAX_TICK_ROUNDS} rounds" in caplog.text
