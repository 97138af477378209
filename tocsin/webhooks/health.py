"""When a destination is switched off for failing (pure: no I/O).

SPEC-NOTES section 4: when 60 % or more of a destination's deliveries in the last 12 hours
failed, it is disabled (``temporarily_disabled``) until someone enables it. A rate over a handful
of deliveries says little (two failures of the day's first three deliveries is 67 %), so the rule
is judged only once at least ``MIN_DELIVERIES`` deliveries finished in the window. Counted:
deliveries that reached an end (delivered, or failed: retries exhausted or a 4xx), not attempts;
deliveries dropped because the destination was switched off are not the receiver's doing and do
not count. The window starts no earlier than the destination's last enable (``judged_since``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

WINDOW = timedelta(hours=12)
THRESHOLD = 0.6
MIN_DELIVERIES = 10


def window_start(now: datetime, judged_since: datetime) -> datetime:
    return max(now - WINDOW, judged_since)


def should_disable(delivered: int, failed: int, *, minimum: int = MIN_DELIVERIES,
                   threshold: float = THRESHOLD) -> bool:
    """``failed / (delivered + failed) >= threshold``, once at least ``minimum`` deliveries count."""
    total = delivered + failed
    # Integer arithmetic for 60 %: 6 of 10 must disable, whatever float rounding would say.
    return total >= minimum and failed * 100 >= round(threshold * 100) * total


def failure_reason(delivered: int, failed: int) -> str:
    total = delivered + failed
    return (f"{failed} of the {total} deliveries finished in the last {int(WINDOW.total_seconds() // 3600)} hours "
            f"failed ({failed * 100 // total} %, the limit is {round(THRESHOLD * 100)} %)")
