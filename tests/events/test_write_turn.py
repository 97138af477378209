"""SQLite's two in-process writers (the group commit and the processor's write phase) take turns
through ``Database.write_turn()`` instead of meeting in SQLite's busy handler, whose sleeps
(1, 2, 5 … 100 ms) were most of the 202's p99. These tests hold the turn and watch both wait."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import Harness
from tocsin.events.inbox import GroupCommitter
from tocsin.events.models import InboxEvent


async def _inbox_count(h: Harness) -> int:
    async with h.tocsin.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one())


def _row() -> dict[str, object]:
    return {"integration_id": "PINTEGRATION1", "received_at": datetime.now(UTC),
            "event": {"kind": "alert", "event_action": "trigger", "dedup_key": "k"}}


async def test_group_commit_and_processor_writes_wait_for_the_write_turn(harness: Harness) -> None:
    h = harness
    db = h.tocsin.db
    if not db.is_sqlite:
        # PostgreSQL has row locks and many writers: the turn is a no-op there (never blocks).
        async def nested() -> None:
            async with db.write_turn(), db.write_turn():
                pass
        await asyncio.wait_for(nested(), timeout=1)
        return
    committer = GroupCommitter(db)
    wrote: list[str] = []
    async with db.write_turn():
        commit = asyncio.create_task(committer.submit(_row()))
        processor_write = asyncio.create_task(
            db.in_writer_thread(lambda session, _: wrote.append("processor")))
        await asyncio.sleep(0.3)
        # Neither writer touched the file while the turn was held.
        assert not commit.done() and not processor_write.done()
        assert wrote == []
        assert await _inbox_count(h) == 0
    await asyncio.wait_for(asyncio.gather(commit, processor_write), timeout=5)
    assert wrote == ["processor"]
    assert await _inbox_count(h) == 1
    await committer.close()


async def test_processor_reads_do_not_wait_for_the_turn(harness: Harness) -> None:
    """Only the write phase takes the turn: planning from reads goes on while a commit writes."""
    db = harness.tocsin.db
    if not db.is_sqlite:
        pytest.skip("the processor's separate read phase exists only on SQLite")
    read_done = asyncio.Event()

    def read(session: Session) -> None:
        read_done.set()

    async with db.write_turn():
        writer = asyncio.create_task(db.in_writer_thread(lambda session, _: None, read))
        await asyncio.wait_for(read_done.wait(), timeout=5)
        assert not writer.done()
    await asyncio.wait_for(writer, timeout=5)
