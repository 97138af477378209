"""When ``Engine.tick`` (tests, a manual trigger) has run enough rounds (pure).

The running loop's own pacing (which step runs when, how long it sleeps) is ``agenda.Agenda``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tocsin.engine.step import StepResult


def progressed(results: Iterable[StepResult]) -> bool:
    """A step did work or has more: another round may find work it made for the others."""
    return any(result.done > 0 or result.more for result in results)


def due_now(results: Iterable[StepResult], now: datetime) -> bool:
    """A step knows of work due at ``now`` that no other engine holds."""
    return any(result.next_due is not None and result.next_due <= now and not result.skipped_locked
               for result in results)
