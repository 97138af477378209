"""When to try a send again after a transient failure (pure: no I/O, randomness injected).

A provider that is down for a minute must not lose a page, and one that is down for an hour must
not be hammered: the waits grow (30 s, 1 min, 2 min, 5 min, 10 min), five retries after the first
attempt, about 18 minutes in all, then the send fails for good. Each wait is spread by up to
±``JITTER`` so many sends that failed together (one SMTP outage) do not all come back at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
)
JITTER = 0.1  # each wait is its nominal value times a factor in [1 - JITTER, 1 + JITTER)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1  # the first attempt and one retry per delay


def retry_delay(
    attempts: int,
    random: Callable[[], float],
    delays: Sequence[timedelta] = RETRY_DELAYS,
    jitter: float = JITTER,
) -> timedelta | None:
    """How long to wait before the next attempt, after ``attempts`` attempts (>= 1) have failed
    transiently; None when none is left (the send has failed). ``random`` returns a float in
    [0, 1) (``random.random``); values outside are clamped, so a bad source cannot escape the
    bounds."""
    if attempts < 1:
        raise ValueError("retry_delay is asked after at least one attempt")
    if attempts > len(delays):
        return None
    draw = min(max(random(), 0.0), 1.0)
    factor = 1.0 - jitter + 2.0 * jitter * draw
    return delays[attempts - 1] * factor
