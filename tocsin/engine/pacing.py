"""When the engine looks for work again, from what its steps reported (pure).

The loop sleeps until the earliest due time any step knows of, so work is picked up when it falls
due rather than by frequent blind polling; a wake (work stored in this process, or a NOTIFY from
another) cuts the sleep short. Two limits keep it honest: it never sleeps longer than
``IDLE_SECONDS`` (a safety net for a wake that never came: an SQLite writer in another process,
a dropped LISTEN connection), and only ``LOCKED_SECONDS`` while another engine holds due rows
(if that engine died, its locks died with its connection and the rows are free at once).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tocsin.engine.step import StepResult

IDLE_SECONDS = 5.0
LOCKED_SECONDS = 0.5
# A step reported work already due that it did not take (and no locked rows): look again soon,
# but not in a busy loop.
OVERDUE_SECONDS = 0.05


def sleep_seconds(results: Iterable[StepResult], now: datetime, rate: float = 1.0) -> float:
    """Real seconds to sleep after a tick whose steps reported ``results`` (failed steps report
    nothing). ``rate`` is engine seconds per real second (``tocsin.clock.ScaledClock``)."""
    reported = list(results)
    if any(result.more for result in reported):
        return 0.0
    cap = LOCKED_SECONDS if any(result.skipped_locked for result in reported) else IDLE_SECONDS
    dues = [result.next_due for result in reported if result.next_due is not None]
    if not dues:
        return cap
    delay = (min(dues) - now).total_seconds() / rate
    if delay <= 0:
        return min(OVERDUE_SECONDS, cap)
    return min(delay, cap)


def progressed(results: Iterable[StepResult]) -> bool:
    """A step did work or has more: another round may find work it made for the others."""
    return any(result.done > 0 or result.more for result in results)


def due_now(results: Iterable[StepResult], now: datetime) -> bool:
    """A step knows of work due at ``now`` that no other engine holds."""
    return any(result.next_due is not None and result.next_due <= now and not result.skipped_locked
               for result in results)
