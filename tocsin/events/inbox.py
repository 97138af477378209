"""Group commit of accepted events into the durable inbox.

Requests hand their row to ``GroupCommitter.submit`` and await it. One writer task drains
everything queued so far into a single transaction (``Database.append``: on SQLite one
executemany and one commit in a single hop to a thread of its own, on PostgreSQL one COPY; one
fsync either way), then resolves every waiting request. While it commits, new arrivals queue up
and form the next batch, so batches grow with load and the per-event cost of durability falls.
The writer task is the only inbox writer of this process, which keeps SQLite at one writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from tocsin.db.base import table_of
from tocsin.db.session import Database
from tocsin.events.models import InboxEvent

log = logging.getLogger(__name__)
MAX_BATCH = 1000
_INBOX = table_of(InboxEvent)


class GroupCommitter:
    def __init__(self, db: Database, on_commit: Callable[[], None] | None = None) -> None:
        self._db = db
        self._on_commit = on_commit
        self._queue: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.events = 0

    async def submit(self, row: dict[str, Any]) -> None:
        """Return once ``row`` is committed; raise if the commit failed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((row, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._write([row for row, _ in batch])
            except Exception:
                # One unstorable row must not fail its neighbours: retry the batch row by row.
                log.exception("inbox commit of %d events failed; retrying one by one", len(batch))
                await self._write_singly(batch)
            else:
                self.batches += 1
                self.events += len(batch)
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
            if self._on_commit is not None:
                self._on_commit()

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        await self._db.append(_INBOX, rows)

    async def _write_singly(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        for row, future in batch:
            try:
                await self._write([row])
            except Exception as exc:  # noqa: BLE001 - this waiter learns its event was not stored
                if not future.done():
                    future.set_exception(exc)
            else:
                self.events += 1
                if not future.done():
                    future.set_result(None)

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
