"""``Database.read``: the read path of the hottest lists. On SQLite it runs the whole read in one
worker-thread hop over its own read-only connections; on PostgreSQL it is a plain transaction."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db.bridge import QuerySuspended
from tocsin.db.session import Database
from tocsin.teams.models import Team


def _team(id_: str) -> dict[str, object]:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    return {"id": id_, "name": id_, "created_at": now, "updated_at": now}


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "read.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


async def _team_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Team))).scalar_one())


async def test_read_sees_what_the_async_connection_committed(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert await db.read(_team_count) == 0
        async with db.transaction() as session:
            await session.execute(insert(Team), [_team("PTEAM01")])
        assert await db.read(_team_count) == 1
    finally:
        await db.dispose()


async def test_sqlite_reads_run_on_read_only_connections(sqlite_url: str) -> None:
    db = Database(sqlite_url)

    async def write(session: AsyncSession) -> None:
        await session.execute(insert(Team), [_team("PTEAM02")])

    try:
        with pytest.raises(OperationalError, match="readonly"):
            await db.read(write)
        assert await db.read(_team_count) == 0
    finally:
        await db.dispose()


async def test_sqlite_read_work_that_suspends_is_refused_loudly(sqlite_url: str) -> None:
    db = Database(sqlite_url)

    async def suspends(session: AsyncSession) -> int:
        await asyncio.sleep(0)  # not the session: cannot be driven in the worker thread
        return await _team_count(session)

    try:
        with pytest.raises(QuerySuspended, match="suspended while run over a synchronous session"):
            await db.read(suspends)
    finally:
        await db.dispose()


async def test_reads_in_parallel_share_the_pool(db_url: str) -> None:
    db = Database(db_url)
    try:
        async def slow(session: AsyncSession) -> int:
            await session.execute(text("SELECT 1"))
            return await _team_count(session)

        assert await asyncio.gather(*(db.read(slow) for _ in range(12))) == [0] * 12
    finally:
        await db.dispose()
