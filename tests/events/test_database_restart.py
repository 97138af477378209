"""Events accepted across a PostgreSQL restart: the server cuts every pooled connection, and
the group commit (a COPY SQLAlchemy does not see, ``db.bulk.copy_in``) drops them all on the
first failure, so its row-by-row retry and the next batches connect afresh instead of each
finding the next dead connection."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from tests.conftest import Harness, pg_admin
from tocsin.db.base import table_of
from tocsin.events.models import InboxEvent


async def test_every_event_after_the_server_cut_the_pool_is_stored(harness: Harness) -> None:
    db = harness.tocsin.db
    if db.is_sqlite:
        pytest.skip("a server restart is PostgreSQL's")
    first = await harness.send(harness.event(dedup_key="before"))  # the routing key is now cached
    assert first.status_code == 202, first.text

    async def hold() -> int:  # several connections checked out at once: a warm pool
        async with db.engine.connect() as conn:
            pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await asyncio.sleep(0.05)
            return pid

    pids = await asyncio.gather(*(hold() for _ in range(6)))
    await pg_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN ({', '.join(map(str, pids))})")
    await asyncio.sleep(0.1)  # within the liveness idle time: no ping will catch them
    answers = await asyncio.gather(*(harness.send(harness.event(dedup_key=f"after-{n}")) for n in range(20)))
    assert [r.status_code for r in answers] == [202] * 20, [r.text for r in answers if r.status_code != 202]
    async with db.transaction() as session:
        stored = await session.scalar(select(func.count()).select_from(table_of(InboxEvent)))
    assert stored == 21


async def test_a_routing_key_lookup_the_database_fails_is_a_503_not_a_500(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    async def unavailable(routing_key: str) -> None:
        raise ConnectionResetError("connection was closed in the middle of operation")

    monkeypatch.setattr(harness.tocsin.directory, "resolve", unavailable)
    r = await harness.send(harness.event(dedup_key="x"))
    assert (r.status_code, r.json()["status"], r.json()["errors"]) == (503, "error", ["Storage unavailable"])
