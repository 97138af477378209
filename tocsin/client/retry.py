"""How long to wait before retrying a refused request (pure).

A 429 says when to come back: PagerDuty's REST API sends ``ratelimit-reset`` (seconds until the
window resets), proxies and the Events API may send ``Retry-After`` (seconds or an HTTP date).
The longer of the two wins; without either, the wait doubles from one second. A little jitter
keeps many clients from retrying in the same instant; the cap keeps a wrong header from
parking the client for hours.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

FIRST_DELAY = 1.0  # seconds, doubled per attempt when the server says nothing
MAX_DELAY = 60.0


def retry_delay(headers: Mapping[str, str], attempt: int, now: datetime | None = None,
                jitter: float | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
    told = [d for d in (_seconds(headers.get("ratelimit-reset")), _retry_after(headers.get("retry-after"), now))
            if d is not None]
    base = max(told) if told else FIRST_DELAY * 2 ** attempt
    spread = random.uniform(0, 0.25) if jitter is None else jitter
    return min(MAX_DELAY, max(0.0, base) + spread)


def _seconds(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def _retry_after(raw: str | None, now: datetime | None) -> float | None:
    if raw is None:
        return None
    seconds = _seconds(raw)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
