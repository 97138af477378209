"""Checking a pooled PostgreSQL connection before use only when it sat idle.

SQLAlchemy's ``pool_pre_ping`` pings on every checkout: on asyncpg that is three round trips
(BEGIN, an empty query, ROLLBACK). Under load the inbox's group commit, the events processor and
the engine check connections out hundreds of times a second, and those pings cost more than the
work (a quarter of the group commit's time). A connection used a moment ago was alive a moment
ago; one that sat idle may have been cut by a restart, a failover or a firewall meanwhile.

So a connection is pinged at checkout when it has been back in the pool for longer than
``idle_seconds``; a dead one is then replaced before anyone uses it. A connection that dies
while in use, or within ``idle_seconds`` of its last use, fails the statement that finds it out:
SQLAlchemy sees the disconnect, drops every pooled connection older than that moment, and the
next checkout connects afresh (the group commit's COPY, which SQLAlchemy does not see, does the
same itself: ``bulk.copy_in``). The callers that must not lose work retry: the group commit
retries its rows one by one, the processor and the engine run their batch again.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

IDLE_SECONDS = 1.0
_RETURNED_AT = "tocsin_returned_at"  # monotonic time of the last check-in, in the record's info


def ping_after_idle(engine: AsyncEngine, idle_seconds: float = IDLE_SECONDS) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine.pool, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(sync_engine.pool, "checkout")
    def _taken(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)  # None: connected just now (a reconnect clears info)
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out a fresh one in its place.
            raise DisconnectionError("a pooled connection did not answer its ping") from exc
