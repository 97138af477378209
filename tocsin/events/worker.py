"""The background loop that drains the inbox: woken by each group commit, and polling once a
second for events committed by other nodes sharing PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime

from tocsin.db.session import Database
from tocsin.events.processor import batch_size, process_batch

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
# After a wake-up, let events gather briefly: larger batches cost far fewer statements per event,
# and the group commit keeps the (SQLite: single) connection between our batches.
GATHER_SECONDS = 0.02


class InboxWorker:
    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self._db = db
        self._now = now  # the runtime clock (maintenance windows are judged by it)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.processed = 0

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-worker")

    async def drain(self) -> int:
        """Process until the inbox is empty (tests and shutdown use this)."""
        total = 0
        while (taken := await process_batch(self._db, now=self._now)) > 0:
            total += taken
        return total

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                taken = await process_batch(self._db, now=self._now)
            except Exception:
                log.exception("inbox processing failed; retrying shortly")
                taken = 0
            self.processed += taken
            if taken >= batch_size(self._db):
                continue  # more is waiting: keep going without sleeping
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                await asyncio.sleep(GATHER_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
