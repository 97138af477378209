"""Retention: delete change events and suppressed maintenance triggers once they are too old, and
whatever else the composition root adds (``pruners``: the webhooks' finished deliveries, which
this lower domain cannot import).

A small background task beside the inbox worker (started and stopped with it) sweeps every few
minutes. Each statement deletes at most ``BATCH`` rows, chosen by primary key through an age
index, and the sweep repeats while a full batch went, so a large backlog is removed in many
short transactions and never holds SQLite's write lock (or the in-process write turn the group
commit waits on) for long. On PostgreSQL several nodes may sweep at once: a transaction-scoped
advisory lock lets one node delete at a time and the others skip that round (deleting by age
is idempotent, so nothing is lost by skipping).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, text
from sqlalchemy.orm import Session

from tocsin.db.base import table_of
from tocsin.db.session import Database
from tocsin.events.models import CHANGE_EVENT_RETENTION, ChangeEvent
from tocsin.maintenance.queries import prune_suppressed

log = logging.getLogger(__name__)
BATCH = 500  # rows per DELETE: a few milliseconds of write lock on SQLite
SWEEP_SECONDS = 300.0
RETENTION_LOCK = 0x70C5_1E02  # advisory lock id of the retention sweep (the processor's is ...01)


def prune_change_events(session: Session, now: datetime, limit: int) -> int:
    """Delete up to ``limit`` change events that ``GET /change_events`` no longer shows."""
    table = table_of(ChangeEvent)
    expired = select(ChangeEvent.id).where(ChangeEvent.timestamp < now - CHANGE_EVENT_RETENTION).limit(limit)
    # A DML statement's result is a CursorResult (Session.execute is typed as returning Result).
    result = cast(CursorResult[Any], session.execute(delete(table).where(table.c.id.in_(expired))))
    return int(result.rowcount or 0)


# Deletes up to ``limit`` expired rows of one kind as of ``now`` (one short transaction); how many.
Pruner = Callable[[Session, datetime, int], int]
_PRUNERS: tuple[Pruner, ...] = (prune_change_events, prune_suppressed)


class RetentionSweeper:
    def __init__(self, db: Database, now: Callable[[], datetime],
                 batch: int = BATCH, interval: float = SWEEP_SECONDS, pruners: Sequence[Pruner] = ()) -> None:
        self._db = db
        self._now = now  # the runtime clock
        self._pruners = (*_PRUNERS, *pruners)
        self._batch = batch
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self.deleted = 0

    async def _delete_batch(self, prune: Pruner, at: datetime) -> int | None:
        """One short transaction; None when another node holds the sweep (PostgreSQL)."""
        if self._db.is_sqlite:
            # The background writer's connection, behind the in-process write turn.
            return await self._db.in_writer_thread(lambda session, _: prune(session, at, self._batch))
        async with self._db.transaction() as session:
            locked = await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RETENTION_LOCK})
            if not locked.scalar():
                return None
            return await session.run_sync(lambda s: prune(s, at, self._batch))

    async def sweep(self) -> int:
        """Delete everything past retention, batch by batch; return how many rows went."""
        at = self._now()
        total = 0
        for prune in self._pruners:
            while (deleted := await self._delete_batch(prune, at)) is not None:
                total += deleted
                self.deleted += deleted
                if deleted < self._batch:
                    break
                await asyncio.sleep(0)  # let queued writers (the group commit) take their turn
            else:
                break  # another node holds the sweep: it will do the rest
        return total

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="retention-sweeper")

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("retention sweep failed; retrying at the next sweep")
            await asyncio.sleep(self._interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
