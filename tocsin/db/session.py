"""Transactions are owned by the caller (a request handler or an engine step).

``Database.transaction()`` yields an ``AsyncSession`` inside one transaction that commits when
the block exits cleanly and rolls back otherwise. Domain functions take that session and never
commit on their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from tocsin.db.bridge import SyncAsAsync, run_now
from tocsin.db.bulk import copy_in, insert_many
from tocsin.db.engine import create_engine, create_sqlite_reader, create_sqlite_writer, is_sqlite
from tocsin.db.wal import WriterCheckpoints

T = TypeVar("T")
R = TypeVar("R")


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = is_sqlite(url)
        self.engine: AsyncEngine = create_engine(url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer: Engine | None = None
        self._appender: Engine | None = None  # SQLite: the group commit's connection (``append``)
        self._writer_reads: Engine | None = None  # the writer's read-only view, made with it
        self._checkpoints: WriterCheckpoints | None = None  # SQLite: made with the writer
        self._reader: Engine | None = None
        self._writer_lock = asyncio.Lock()
        # SQLite: whoever writes (the group commit, the processor's write phase) takes this
        # FIFO lock first. Without it a writer that finds the file locked sleeps in SQLite's
        # busy handler (1, 2, 5, 10 ... 100 ms steps) and wakes late, long after the lock was
        # free: that overshoot, not the work, was most of the 202's p99.
        self._write_turn = asyncio.Lock()
        # Run inside every write transaction just before it commits (the composition root adds
        # the engine's planner): the work a change implies is stored in the change's transaction.
        self.before_commit: list[Callable[[Session], None]] = []

    def _run_before_commit(self, session: Session) -> None:
        for hook in self.before_commit:
            hook(session)

    async def in_writer_thread(
        self, work: Callable[[Session, R], T], read: Callable[[Session], R] = lambda _: None  # type: ignore[assignment,return-value]  # R is None without a read
    ) -> T:
        """SQLite only: in a worker thread on the background writer's own connection, run
        ``read`` in a plain read transaction, then ``work(session, what_read_returned)`` in one
        write transaction (BEGIN IMMEDIATE). Reading first keeps the write lock short."""
        writer = self.writer
        reads = self._writer_reads
        assert reads is not None  # made with the writer

        def run_read() -> R:
            with Session(reads) as session, session.begin():
                found = read(session)
                session.rollback()
            return found

        def run_write(found: R) -> T:
            with Session(writer, expire_on_commit=False) as session, session.begin():
                result = work(session, found)
                self._run_before_commit(session)
                return result

        async with self._writer_lock:  # one background writer at a time
            found = await asyncio.to_thread(run_read)
            async with self.write_turn():
                result = await asyncio.to_thread(run_write, found)
            # After the turn: the group commit writes meanwhile (tocsin.db.wal).
            if self._checkpoints is not None and self._checkpoints.due():
                await asyncio.to_thread(self._checkpoints.run)
            return result

    async def write(self, work: Callable[[AsyncSession], Coroutine[Any, Any, T]]) -> T:
        """Run the query code ``work`` in one write transaction (before-commit hooks included)
        and return its result.

        PostgreSQL: on the async session as usual. SQLite: the whole of ``work`` in one hop to the
        background writer's thread over a synchronous session (as ``read`` does for reads), in
        this process's write turn, instead of a thread round trip per statement through aiosqlite
        while holding the write lock. ``work`` must only await the session's own methods."""
        if not self.is_sqlite:
            async with self.transaction() as session:
                return await work(session)
        return await self.in_writer_thread(
            lambda session, _: run_now(work(cast(AsyncSession, SyncAsAsync(session)))))

    def write_turn(self) -> AbstractAsyncContextManager[object]:
        """Hold while writing to SQLite from this process (a no-op on PostgreSQL)."""
        return self._write_turn if self.is_sqlite else nullcontext()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session
            if self.before_commit:
                await session.run_sync(self._run_before_commit)

    @property
    def writer(self) -> Engine:
        """SQLite: the engine of the background writer's connection (made on first use)."""
        if self._writer is None:
            self._writer = create_sqlite_writer(self.url)
            # Made once: building an option engine cost more than some of the processor's reads.
            self._writer_reads = self._writer.execution_options(read_only=True)
            self._checkpoints = WriterCheckpoints(self._writer)
        return self._writer

    @property
    def reader(self) -> Engine:
        """SQLite: the engine of ``read``'s connections (made on first use)."""
        if self._reader is None:
            self._reader = create_sqlite_reader(self.url)
        return self._reader

    def sync_engines(self) -> list[Engine]:
        """Every engine this process queries through (for instrumentation: counting statements)."""
        return [self.engine.sync_engine, *([self.reader, self.writer, self.appender] if self.is_sqlite else [])]

    @property
    def appender(self) -> Engine:
        """SQLite: the engine of ``append``'s connection (made on first use)."""
        if self._appender is None:
            self._appender = create_sqlite_writer(self.url, checkpoints=True)
        return self._appender

    async def append(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` (every row with the same keys) in a transaction of their own, committed
        when this returns, with no before-commit hooks: the inbox's group commit.

        SQLite: the whole transaction (BEGIN IMMEDIATE, one plain executemany, COMMIT) in one hop
        to a worker thread on a connection of its own, in this process's write turn. Through
        aiosqlite each of its steps was a round trip through the event loop, so the write turn
        stayed held while the loop served requests: 3.6 ms a commit, with the processor and the
        engine waiting behind it. PostgreSQL: binary COPY (``bulk.copy_in``)."""
        if not self.is_sqlite:
            await copy_in(self.engine, table, rows)
            return
        appender = self.appender

        def run() -> None:
            with Session(appender) as session, session.begin():
                insert_many(session, table, rows)

        async with self.write_turn():
            await asyncio.to_thread(run)

    async def read(self, work: Callable[[AsyncSession], Coroutine[Any, Any, T]]) -> T:
        """Run the read-only query code ``work`` in one transaction and return its result.

        PostgreSQL: on the async session as usual. SQLite: the whole of ``work`` in one
        worker-thread hop on a read connection (``create_sqlite_reader``), driven by
        ``bridge.run_now`` over a synchronous session, instead of a thread round trip per driver
        call through aiosqlite. ``work`` must only await the session's own methods and must not
        write; rows it returns are detached but loaded (nothing expires)."""
        if not self.is_sqlite:
            async with self.transaction() as session:
                return await work(session)
        reader = self.reader

        def run() -> T:
            with Session(reader, expire_on_commit=False) as session, session.begin():
                # SyncAsAsync answers the AsyncSession methods query code awaits.
                return run_now(work(cast(AsyncSession, SyncAsAsync(session))))

        return await asyncio.to_thread(run)

    async def dispose(self) -> None:
        await self.engine.dispose()
        for engine in (self._writer, self._reader, self._appender):
            if engine is not None:
                engine.dispose()
