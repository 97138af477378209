"""The engine's tick loop: every step in turn, then sleep until work falls due or a wake comes.

Each step runs with its own time budget (``asyncio.timeout``); a step that raises or overruns is
logged and counted and the loop goes on with the next one, so one broken step (a hung SMTP
server, a bug) never stops the others. A serialization failure or deadlock (PostgreSQL SQLSTATE
40001 / 40P01, between engines or with a REST change) is retried a few times after a short random
pause: the step's transaction rolled back whole, so running it again is safe.

Which steps a look runs and how long it sleeps in between is ``agenda.Agenda``: each step runs
when the work it reported or that was announced for it falls due (and at least every few
seconds). Announcements come from this process (``wake(due)``, called after a commit that stored
work, naming the steps and due times; thread-safe, since SQLite's writer thread commits) and, on
PostgreSQL, from other processes through ``listener.WakeListener`` (the NOTIFY's payload).

A step that only starts work and returns (``runs_apart``: the webhooks step, whose sends go on in
lanes) runs in a loop of its own over the same agenda, so work announced for it starts at once
instead of after the steps ahead of it in a tick: the notify step sending a batch of emails held
webhook deliveries up to a send long (measured in ARCHITECTURE.md, "Webhooks"). A manual
``tick()`` still runs every step in order; a step's own lock keeps its runs from overlapping.

Tests drive it by hand: advance a FrozenClock, ``await engine.tick()``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext, suppress
from dataclasses import dataclass
from datetime import datetime

from tocsin.db.session import Database
from tocsin.engine.agenda import Agenda
from tocsin.engine.claims import oldest_due
from tocsin.engine.listener import WakeListener
from tocsin.engine.lock import EngineLock, lock_path
from tocsin.engine.metrics import EngineMetrics
from tocsin.engine.pacing import due_now, progressed
from tocsin.engine.step import Step, StepResult

log = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
ATTEMPTS = 4  # a step's first run and up to three retries
RETRY_PAUSE = (0.005, 0.05)  # seconds, drawn at random so colliding engines fall out of step
LAG_SECONDS = 1.0  # the lag gauge's query runs at most this often (a busy loop ticks far faster)
MAX_TICK_ROUNDS = 1000  # tick() gives up (loudly) on steps that never settle
STOP_GRACE = 5.0  # seconds stop() waits past the longest step budget before cancelling the loop


def is_retryable(exc: BaseException) -> bool:
    """A serialization failure or deadlock anywhere in the chain: SQLAlchemy's DBAPIError keeps
    the driver's error in ``orig`` (SQLAlchemy's asyncpg adapter, with ``sqlstate``), which keeps
    asyncpg's own (``SerializationError``, ``DeadlockDetectedError``) as its cause."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if {getattr(error, "sqlstate", None), getattr(error, "pgcode", None)} & RETRYABLE_SQLSTATES:
            return True
        pending.extend(e for e in (getattr(error, "orig", None), error.__cause__, error.__context__)
                       if isinstance(e, BaseException))
    return False


@dataclass(frozen=True, slots=True)
class TickSummary:
    done: dict[str, int]  # rows each step handled, over all rounds
    rounds: int
    failed: frozenset[str]  # steps that raised or overran in some round


class Engine:
    def __init__(self, db: Database, now: Callable[[], datetime], steps: Sequence[Step], metrics: EngineMetrics,
                 *, clock_rate: float = 1.0, closers: Sequence[Callable[[], Awaitable[None]]] = ()) -> None:
        names = [step.name for step in steps]
        if len(set(names)) != len(names):
            raise ValueError(f"engine steps need distinct names, got {names}")
        self.db = db
        self.steps = tuple(steps)
        self.metrics = metrics
        self._now = now
        self._clock_rate = clock_rate  # engine seconds per real second: sleeps are in real seconds
        self._wake = asyncio.Event()
        self._agenda = Agenda([step.name for step in steps], now(), [step.name for step in steps if step.background],
                              {step.name: step.gather_seconds for step in steps})
        # Steps that run apart (see the module doc): each its own wake and a lock for its runs.
        self._apart = {step.name: (asyncio.Event(), asyncio.Lock())
                       for step in steps if step.runs_apart}
        self._in_line = frozenset(names) - self._apart.keys()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._apart_tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._turn = asyncio.Lock()  # the loop's ticks and manual tick() calls never overlap
        self._lag_measured = float("-inf")
        self.listener = None if db.is_sqlite else WakeListener(db.url, self.wake)
        path = lock_path(db.url) if db.is_sqlite else None
        self._lock = EngineLock(path) if path is not None else None
        self.last_results: dict[str, StepResult | None] = {}
        self._closers = tuple(closers)  # what the steps hold open (the channels' connection pools)

    # --- waking --------------------------------------------------------------------------------

    def wake(self, due: Mapping[str, datetime] | None = None) -> None:
        """Work was stored for these steps, due at these times (None: look at everything now).
        Safe from any thread (SQLite commits in the writer thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._noted(due)  # not running: nobody waits on the event yet
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            self._noted(due)
        else:
            loop.call_soon_threadsafe(self._noted, due)

    def next_runs(self) -> dict[str, datetime | None]:
        """When each step runs next by what it reported or was announced (None: only the safety
        net's look), for health checks and tests."""
        return self._agenda.next_runs()

    def _noted(self, due: Mapping[str, datetime] | None) -> None:
        self._agenda.announce(due, self._now())
        self._wake.set()  # the loop works out again when it must look
        for name, (wake, _) in self._apart.items():
            if due is None or name in due:
                wake.set()

    # --- one step, one tick ----------------------------------------------------------------

    async def _attempts(self, step: Step) -> StepResult:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await step.run(self._now())
            except Exception as exc:
                if attempt == ATTEMPTS or not is_retryable(exc):
                    raise
                log.info("engine step %s: serialization failure or deadlock (attempt %d of %d); retrying",
                         step.name, attempt, ATTEMPTS)
                await asyncio.sleep(random.uniform(*RETRY_PAUSE))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _run_step(self, step: Step) -> StepResult | None:
        """One run of ``step`` within its budget; None when it failed (logged and counted)."""
        started = time.perf_counter()
        budget = asyncio.timeout(step.budget_seconds)
        try:
            async with budget:
                return await self._attempts(step)
        except TimeoutError:
            if not budget.expired():
                log.exception("engine step %s failed; it runs again at the next tick", step.name)
                self.metrics.step_failed(step.name, "exception")
            else:
                log.error("engine step %s ran past its budget of %.1f s and was cut off; "
                          "it runs again at the next tick", step.name, step.budget_seconds)
                self.metrics.step_failed(step.name, "timeout")
        except Exception:
            log.exception("engine step %s failed; it runs again at the next tick", step.name)
            self.metrics.step_failed(step.name, "exception")
        finally:
            self.metrics.step_ran(step.name, time.perf_counter() - started)
        return None

    def _own_turn(self, name: str) -> AbstractAsyncContextManager[object]:
        """A step that runs apart is run by its loop and by tick(): never both at once."""
        apart = self._apart.get(name)
        return apart[1] if apart is not None else nullcontext()

    async def _tick_once(self, only: Sequence[str] | None = None, *,
                         apart: bool = False) -> dict[str, StepResult | None]:
        started = time.perf_counter()
        results: dict[str, StepResult | None] = {}
        for step in self.steps:
            if self._stopping:
                break
            if only is None or step.name in only:
                async with self._own_turn(step.name):
                    result = results[step.name] = await self._run_step(step)
                now = self._now()
                self._agenda.ran(step.name, result, now, time.monotonic(), self._clock_rate)
                if result is not None and result.woke:
                    self._noted(dict.fromkeys(result.woke, now))
        if apart:  # one step's run between ticks: its result replaces only its own
            self.last_results = {**self.last_results, **results}
        else:
            self.metrics.tick_ran(time.perf_counter() - started)
            self.last_results = results
        return results

    async def measure_lag(self) -> None:
        """Set the lag gauge: how late the oldest due timer or pending notification is."""
        self._lag_measured = time.monotonic()
        try:
            oldest = await self.db.read(oldest_due)
        except Exception:
            log.warning("engine: could not measure the oldest due row's lag", exc_info=True)
            return
        now = self._now()
        self.metrics.oldest_due_lag((now - oldest).total_seconds() if oldest is not None else 0.0)

    async def tick(self) -> TickSummary:
        """Run every step, round after round, until none has more work at the current clock.

        A round that did work may have made work for another step (an escalation makes sends),
        so rounds go on until one does nothing. A step that keeps reporting work due now without
        doing any stops the rounds after two idle ones (logged): it cannot be waited out."""
        done = {step.name: 0 for step in self.steps}
        failed: set[str] = set()
        idle_rounds = 0
        rounds = 0
        async with self._turn:
            while rounds < MAX_TICK_ROUNDS:
                rounds += 1
                results = await self._tick_once()
                reported = [result for result in results.values() if result is not None]
                for name, result in results.items():
                    if result is None:
                        failed.add(name)
                    else:
                        done[name] += result.done
                if progressed(reported):
                    idle_rounds = 0
                    continue
                if not due_now(reported, self._now()):
                    break
                idle_rounds += 1
                if idle_rounds >= 2:
                    stuck = [name for name, r in results.items() if r is not None and due_now([r], self._now())]
                    log.warning("engine tick: steps %s report work due now but take none", stuck)
                    break
            else:
                log.error("engine tick: steps still report more work after %d rounds", MAX_TICK_ROUNDS)
            await self.measure_lag()
        return TickSummary(done, rounds, frozenset(failed))

    # --- the loop ------------------------------------------------------------------------------

    async def _run(self, names: frozenset[str] | None = None) -> None:
        """The loop of the steps in line (``names`` None), or of one step that runs apart."""
        apart = names is not None
        steps = names if names is not None else self._in_line
        wake = self._apart[next(iter(steps))][0] if names is not None else self._wake
        while not self._stopping:
            wake.clear()  # before the steps run: a wake during them means look again
            try:
                ready = self._agenda.ready(self._now(), time.monotonic(), steps)
                if ready and apart:
                    await self._tick_once(ready, apart=True)  # under the step's own lock
                elif ready:
                    async with self._turn:
                        await self._tick_once(ready)
                if not apart and time.monotonic() - self._lag_measured >= LAG_SECONDS:
                    await self.measure_lag()
                delay = self._agenda.sleep_seconds(self._now(), time.monotonic(), self._clock_rate, steps)
            except Exception:  # a bug in the loop itself: never let it end the engine
                log.exception("engine loop failed; going on")
                delay = 1.0
            if self._stopping:
                break
            if delay <= 0:
                await asyncio.sleep(0)  # let the rest of the process in between full batches
                continue
            with suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)

    def start(self) -> None:
        """Start the loop (and, on PostgreSQL, the LISTEN connection). On SQLite, raises
        ``EngineAlreadyRunning`` when another engine runs on the same database file."""
        if self._task is not None:
            raise RuntimeError("the engine is already running")
        if self._lock is not None:
            self._lock.acquire()
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        if self.listener is not None:
            self.listener.start()
        self._task = asyncio.create_task(self._run(), name="engine")
        self._apart_tasks = [asyncio.create_task(self._run(frozenset({name})), name=f"engine {name}")
                             for name in self._apart]
        log.info("engine started: steps %s", ", ".join(step.name for step in self.steps) or "(none)")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        """Let the step that is running finish (within its budget), then end the loop."""
        task, self._task = self._task, None
        tasks, self._apart_tasks = ([task] if task is not None else []) + self._apart_tasks, []
        self._stopping = True
        self.wake()
        if tasks:
            grace = max((step.budget_seconds for step in self.steps), default=0.0) + STOP_GRACE
            _, pending = await asyncio.wait(tasks, timeout=grace)
            if pending:
                log.error("engine: a step outlived its budget at stop; cancelling it")
            for each in tasks:
                each.cancel()
                with suppress(asyncio.CancelledError):
                    await each
            log.info("engine stopped")
        if self.listener is not None:
            await self.listener.stop()
        if self._lock is not None:
            self._lock.release()
        for close in self._closers:
            await close()
        self._loop = None

    def health(self) -> str:
        """One line for the logs: ticks, lag, each step's runs and failures."""
        steps = ", ".join(
            f"{step.name} {self.metrics.step_runs(step.name)} runs"
            f" {self.metrics.step_errors(step.name, 'exception') + self.metrics.step_errors(step.name, 'timeout')}"
            " failed" for step in self.steps)
        return (f"engine health: {self.metrics.ticks()} ticks, oldest due row "
                f"{self.metrics.lag_seconds():.1f} s late, repairs {self.metrics.repairs()}; {steps}")
