"""The ``webhooks`` step: outbound deliveries (v3 webhooks today) claimed, sent and recorded by
``tocsin.webhooks.delivery``. A run only claims and starts sends; they go on in the background,
one lane per destination, so a receiver that hangs never holds up the engine or another receiver.
A lane that recorded its outcomes wakes the engine to claim what became due (the next delivery of
an incident waits for the one before it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from tocsin.db.session import Database
from tocsin.engine.step import WEBHOOKS_STEP, StepResult
from tocsin.webhooks.delivery import Dispatcher


class WebhookStep:
    name = WEBHOOKS_STEP
    budget_seconds = 10.0  # a run claims (a read, one short write); the sends are not in it
    background = False
    # Its own loop (``engine.loop``): a delivery announced by a commit is claimed at once, not
    # after the notify step ahead of it in the tick has sent its batch.
    runs_apart = True
    gather_seconds = 0.0

    def __init__(self, db: Database, now: Callable[[], datetime], client: httpx.AsyncClient, *,
                 batch: int = 200, per_destination: int = 16, send_timeout: float = 5.0) -> None:
        self.dispatcher = Dispatcher(db, now, client, batch=batch, per_destination=per_destination,
                                     send_timeout=send_timeout)

    @property
    def wake(self) -> Callable[[], None]:
        return self.dispatcher.wake

    @wake.setter
    def wake(self, wake: Callable[[], None]) -> None:
        self.dispatcher.wake = wake

    async def run(self, now: datetime) -> StepResult:
        result = await self.dispatcher.run(now)
        return StepResult(done=result.claimed, more=result.more, next_due=result.next_due)

    async def settle(self) -> None:
        """Wait for every send started so far to be recorded (tests)."""
        await self.dispatcher.settle()

    async def aclose(self) -> None:
        await self.dispatcher.aclose()
