"""When a failed delivery is tried again, and which failures are worth retrying (pure: no I/O).

The product brief's three cycles (SPEC-NOTES section 4), counted from the first attempt's failure:
1st cycle 1, 3, 5, 10, 10 seconds; 2nd cycle 0, 1, 3, 5, 30 seconds; 3rd cycle 1, 1, 3, 5, 10,
30 minutes. After the 16th retry (the 17th attempt) fails, the delivery is given up. They apply
to every outbound destination (webhooks today; forwarding and chat later).

Retried: a timeout, a connection or DNS failure, 429 and 5xx. A 2xx delivers. Any other answer
(1xx, 3xx: redirects are not followed, 4xx) drops the delivery at once: the receiver refused it.
"""

from __future__ import annotations

from datetime import timedelta

_S, _M = timedelta(seconds=1), timedelta(minutes=1)
CYCLES: tuple[tuple[timedelta, ...], ...] = (
    (1 * _S, 3 * _S, 5 * _S, 10 * _S, 10 * _S),
    (0 * _S, 1 * _S, 3 * _S, 5 * _S, 30 * _S),
    (1 * _M, 1 * _M, 3 * _M, 5 * _M, 10 * _M, 30 * _M),
)
SCHEDULE: tuple[timedelta, ...] = tuple(wait for cycle in CYCLES for wait in cycle)
MAX_ATTEMPTS = len(SCHEDULE) + 1  # the first attempt and one per wait

# What an attempt's answer means.
DELIVERED = "delivered"
RETRY = "retry"
DROP = "drop"


def retry_delay(attempts: int) -> timedelta | None:
    """The wait after the ``attempts``-th attempt failed (1-based); None: give up."""
    if attempts < 1:
        raise ValueError("attempts counts the attempts made, from 1")
    return SCHEDULE[attempts - 1] if attempts <= len(SCHEDULE) else None


def judge(status_code: int | None) -> str:
    """DELIVERED, RETRY or DROP for an HTTP status; None (no answer: timeout, connection or DNS
    failure) is retried."""
    if status_code is None or status_code == 429 or status_code >= 500:
        return RETRY
    if 200 <= status_code < 300:
        return DELIVERED
    return DROP
