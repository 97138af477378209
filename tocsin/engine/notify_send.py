"""One send attempt and what became of it: sent, failed for good, or to be tried again later.

The provider call is bounded by a timeout of its own (a channel that hangs must not take the
step's whole budget); a transient failure gets the next wait of the backoff schedule until none
is left, then the send has failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tocsin.notifications.backoff import retry_delay
from tocsin.notifications.channel import Channel, ChannelBusy, ChannelError, Message
from tocsin.notifications.models import FAILED, PENDING, SENT

logger = logging.getLogger(__name__)

# (channel, outcome, rows) -> None, called once per channel and outcome of a run with the number of
# rows handled so: the engine metrics' sends counter (once per row was a label lookup per page).
# Outcomes: "sent", "failed", "retry", "cancelled", "suppressed".
SendObserver = Callable[[str, str, int], None]
RETRY = "retry"  # the outcome of a transient failure with attempts left (the row stays pending)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed row."""

    notification_id: str
    status: str  # SENT | FAILED | PENDING (retry) | CANCELLED | SUPPRESSED
    attempted: bool = False  # a provider call was made (attempts + 1)
    due_at: datetime | None = None  # the retry's time
    error: str | None = None
    response: dict[str, Any] | None = None
    bundle: str | None = None  # sent in a bundle: its lead notification's id

    @property
    def metric(self) -> str:
        return RETRY if self.status == PENDING else self.status


async def attempt(channel: Channel, message: Message, *, attempts_before: int, within: float,
                  now: Callable[[], datetime], random: Callable[[], float]) -> Outcome:
    """Send ``message`` through ``channel`` once, giving up after ``within`` seconds;
    ``attempts_before``: attempts already made."""
    nid, attempts = message.notification_id, attempts_before + 1
    try:
        async with asyncio.timeout(within):
            delivery = await channel.send(message)
    except ChannelBusy as exc:  # never reached the provider: still due, and no attempt spent
        logger.info("notification %s via %s waits for the next run: %s", nid, channel.name, exc)
        return Outcome(nid, PENDING, error=str(exc))
    except ChannelError as exc:
        error: ChannelError = exc
    except TimeoutError:
        error = ChannelError(f"no answer within {within:g} s", transient=True)
    except Exception as exc:  # a channel's surprise is retried like a transient failure
        logger.exception("notification %s: the %s channel failed unexpectedly", nid, channel.name)
        error = ChannelError(f"unexpected {type(exc).__name__}: {exc}", transient=True)
    else:
        return Outcome(nid, SENT, attempted=True, response=delivery.response)
    delay = retry_delay(attempts, random) if error.transient else None
    if delay is None:
        reason = f"gave up after {attempts} attempts: {error}" if error.transient else str(error)
        logger.warning("notification %s via %s failed: %s", nid, channel.name, reason)
        return Outcome(nid, FAILED, attempted=True, error=reason, response=error.response)
    logger.info("notification %s via %s will be retried in %s: %s", nid, channel.name, delay, error)
    return Outcome(nid, PENDING, attempted=True, due_at=now() + delay, error=str(error), response=error.response)
