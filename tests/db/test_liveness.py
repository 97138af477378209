"""Pooled PostgreSQL connections are pinged at checkout only after sitting idle
(``tocsin.db.liveness``): a connection the server cut while it was idle is replaced before use,
and one used a moment ago is not pinged again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import pg_admin
from tocsin.db.engine import create_engine
from tocsin.db.liveness import IDLE_SECONDS

pytestmark = pytest.mark.postgres


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_url, pool_size=1)
    yield engine
    await engine.dispose()


def count_pings(engine: AsyncEngine) -> list[int]:
    dialect, pings = engine.sync_engine.dialect, [0]
    real = dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings[0] += 1
        return real(dbapi_connection)

    dialect.do_ping = counted  # type: ignore[method-assign]  # an instance's own, to count its calls
    return pings


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_in_steady_use_is_not_pinged(engine: AsyncEngine) -> None:
    pings = count_pings(engine)
    pids = {await backend_pid(engine) for _ in range(20)}
    assert len(pids) == 1  # one pooled connection, reused
    assert pings[0] == 0


async def test_a_connection_cut_while_idle_is_replaced_before_use(engine: AsyncEngine) -> None:
    pings = count_pings(engine)
    first = await backend_pid(engine)
    await pg_admin(f"SELECT pg_terminate_backend({first})")
    await asyncio.sleep(IDLE_SECONDS + 0.2)
    second = await backend_pid(engine)  # no error: the ping found the dead connection first
    assert second != first
    assert pings[0] == 1


async def test_a_connection_cut_just_after_use_fails_once_then_the_pool_reconnects(engine: AsyncEngine) -> None:
    first = await backend_pid(engine)
    await pg_admin(f"SELECT pg_terminate_backend({first})")
    await asyncio.sleep(0.1)  # the server has closed it; within IDLE_SECONDS, so no ping
    with pytest.raises(DBAPIError) as failed:
        await backend_pid(engine)
    assert failed.value.connection_invalidated
    assert await backend_pid(engine) != first
