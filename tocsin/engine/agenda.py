"""Which steps the running loop runs, and how long it sleeps in between (pure).

Each step has its own next run: the earliest of what its last run reported (``StepResult``) and
what was announced for it since (a transaction stored a send due now: ``notify``; an escalation
timer due in 30 minutes: ``escalate`` then). A tick runs only the steps whose time has come, so a
burst of commits (the events processor stores work many times a second under load) costs the
notify step's run and nothing else: the escalate, clock, handoff and reconcile steps are not
asked to query for work that is not due. Measured in ARCHITECTURE.md ("Measured ingest").

A safety net keeps it honest: every step runs at least every ``IDLE_SECONDS`` of real time
whatever it reported (work stored by an SQLite writer in another process, a NOTIFY lost while the
listener reconnected, a schedule edit that moves a handoff). Times are engine times (the
injectable clock); the real time of the safety net is ``monotonic`` seconds, passed in.

A step may gather (``Step.gather_seconds``, the notify step's): work announced for it within that
many real seconds of its last run waits for the rest of that time, so in an alert storm one run
sends what a dozen commits stored (one bundled message to a person, not a dozen; one claim, one
read of the facts and one write for all of them) instead of a run per commit. The first work
after a quiet spell still runs at once, and a run that left a full batch behind runs again at
once. Measured in ARCHITECTURE.md ("Measured ingest").

Background steps (the reconciler's walk) give way: while a foreground step has work due now (an
escalation storm: levels to move on, pages to send), a background step runs only once every
``BACKGROUND_YIELD_SECONDS`` of real time, so waking people comes first and the audit still
advances. Measured in ARCHITECTURE.md ("Measured escalation").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta

from tocsin.engine.step import StepResult

IDLE_SECONDS = 5.0  # every step runs at least this often (real seconds)
LOCKED_SECONDS = 0.5  # another engine holds due rows: if it died, they are free again at once
OVERDUE_SECONDS = 0.05  # work due that a run left (no connection came free): soon, not in a busy loop
FAILED_SECONDS = 1.0  # a run that raised or overran tries again after this
BACKGROUND_YIELD_SECONDS = 1.0  # a background step waits at most this long for busy foreground steps


class Agenda:
    """When each step runs next. Not thread-safe: the loop's own event loop owns it."""

    def __init__(self, steps: Iterable[str], now: datetime, background: Iterable[str] = (),
                 gather: Mapping[str, float] | None = None) -> None:
        names = list(steps)
        self._background = frozenset(background) & set(names)
        self._reported: dict[str, datetime | None] = dict.fromkeys(names, now)  # all run at start
        self._announced: dict[str, datetime] = {}
        self._ran: dict[str, float] = dict.fromkeys(names, float("-inf"))
        self._gather = {name: seconds for name, seconds in (gather or {}).items() if name in self._ran and seconds > 0}
        self._more: set[str] = set()  # steps whose last run left a full batch: no gathering

    def announce(self, due: Mapping[str, datetime] | None, now: datetime) -> None:
        """Work was stored: for these steps at these times, or (None) for any step now."""
        for name, at in (dict.fromkeys(self._reported, now) if due is None else due).items():
            if name in self._reported:
                self._announced[name] = min(at, self._announced.get(name, at))

    def ready(self, now: datetime, monotonic: float, among: Collection[str] | None = None) -> list[str]:
        """The steps to run now (of ``among``, default all), in the engine's order; what was
        announced for them is taken (an announcement arriving while they run stays for the next
        look)."""
        runs = self.next_runs()
        names = [name for name, at in runs.items()
                 if (among is None or name in among)
                 and ((at is not None and at <= now and self._gathered(name, monotonic) <= 0)
                      or monotonic - self._ran[name] >= IDLE_SECONDS)]
        # Busy: a foreground step runs now, or has work due now (gathering it, or in a loop of its
        # own when it runs apart).
        if any(name not in self._background for name in names) or self._busy(runs, now):
            names = [name for name in names if name not in self._background or self._yielding(name, monotonic) <= 0]
        for name in names:
            self._announced.pop(name, None)
        return names

    def ran(self, name: str, result: StepResult | None, now: datetime, monotonic: float, rate: float = 1.0) -> None:
        """Record a run's result (None: it failed) finished at ``now``."""
        self._ran[name] = monotonic
        self._reported[name] = next_run(result, now, rate)
        if result is not None and result.more:
            self._more.add(name)
        else:
            self._more.discard(name)

    def _gathered(self, name: str, monotonic: float) -> float:
        """Real seconds the step still gathers before its due work runs (0 or less: none)."""
        gather = self._gather.get(name)
        if gather is None or name in self._more:
            return 0.0
        return gather - (monotonic - self._ran[name])

    def sleep_seconds(self, now: datetime, monotonic: float, rate: float = 1.0,
                      among: Collection[str] | None = None) -> float:
        """Real seconds until some step (of ``among``, default all) must run (0: at once).
        ``rate``: engine seconds per real second (``tocsin.clock.ScaledClock``)."""
        waits = [IDLE_SECONDS - (monotonic - ran) for name, ran in self._ran.items() if among is None or name in among]
        runs = self.next_runs()
        busy = self._busy(runs, now)
        for name, at in runs.items():
            if at is None or (among is not None and name not in among):
                continue
            wait = max((at - now).total_seconds() / rate, self._gathered(name, monotonic))
            if busy and name in self._background:  # held back as ``ready`` holds it: no busy loop meanwhile
                wait = max(wait, self._yielding(name, monotonic))
            waits.append(wait)
        return max(0.0, min(waits, default=IDLE_SECONDS))

    def _busy(self, runs: Mapping[str, datetime | None], now: datetime) -> bool:
        """Some foreground step has work due now."""
        return any(at is not None and at <= now for name, at in runs.items() if name not in self._background)

    def _yielding(self, name: str, monotonic: float) -> float:
        """Real seconds a background step still gives way to busy foreground steps (0 or less: none)."""
        return BACKGROUND_YIELD_SECONDS - (monotonic - self._ran[name])

    def next_runs(self) -> dict[str, datetime | None]:
        """Each step's next run by what it reported or was announced (None: only the safety net)."""
        result: dict[str, datetime | None] = {}
        for name, reported in self._reported.items():
            times = [t for t in (reported, self._announced.get(name)) if t is not None]
            result[name] = min(times) if times else None
        return result


def next_run(result: StepResult | None, now: datetime, rate: float = 1.0) -> datetime | None:
    """When a step runs again by its own run's result; None when it knows of no work."""
    def later(seconds: float) -> datetime:
        return now + timedelta(seconds=seconds * rate)  # real seconds -> engine time
    if result is None:
        return later(FAILED_SECONDS)
    if result.more:
        return now
    # Rows another engine holds: look again soon (if it died, its locks died with it).
    cap = later(LOCKED_SECONDS) if result.skipped_locked else None
    if result.next_due is None:
        return cap
    if result.next_due <= now:
        return later(OVERDUE_SECONDS)
    return result.next_due if cap is None else min(cap, result.next_due)
