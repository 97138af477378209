"""What the tick loop asks of each named step (escalate, notify, clock, handoff, reconcile)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StepResult:
    done: int = 0  # rows (timers, sends, incidents) handled in this run
    more: bool = False  # a full batch was claimed: run again at once
    next_due: datetime | None = None  # the earliest future due time the step knows of
    # PostgreSQL: due rows were skipped because another engine holds them; look again soon
    # (if that engine died, its locks went with its connection and the rows are free).
    skipped_locked: bool = False
    # Steps this run stored work for that is due now (the handoff step's notices: the notify
    # step sends them at once); the planner announces what engine steps' changes imply itself.
    woke: tuple[str, ...] = ()


class Step(Protocol):
    name: str
    budget_seconds: float  # one run's time budget; a run over it is cut off and logged
    # A background step (the reconciler) gives way to steps with work due now (``agenda``).
    background: bool
    # ``runs_apart``: the run only starts work and returns, and the running engine gives the step
    # a loop of its own (``engine.loop``) so it never waits behind others (the webhooks step).
    runs_apart: bool
    # Work announced within this many real seconds of the step's last run waits for the rest of
    # them, so one run handles a burst (``agenda``); 0: none.
    gather_seconds: float

    async def run(self, now: datetime) -> StepResult: ...


# The steps a transaction announces stored work for (``agenda``): their ``name``s.
NOTIFY_STEP = "notify"
ESCALATE_STEP = "escalate"
CLOCK_STEP = "clock"
WEBHOOKS_STEP = "webhooks"
