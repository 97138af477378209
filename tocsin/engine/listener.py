"""PostgreSQL: wake this engine when another process commits work (``LISTEN tocsin_engine``).

One dedicated asyncpg connection outside the pool (a pooled connection would be handed to other
work, and a LISTEN lives only as long as its connection). If the connection drops, the listener
reconnects with a growing pause, and wakes the engine once it listens again: notifications sent
in the gap were lost, and the engine's idle cap (5 s) bounds the delay meanwhile. A connection
that hangs without closing (a silent network partition) is found by a ping every ``PING_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from tocsin.engine.signal import CHANNEL, Wake, decode

log = logging.getLogger(__name__)
PING_SECONDS = 30.0
PING_TIMEOUT = 5.0
CONNECT_TIMEOUT = 10.0
FIRST_PAUSE = 0.5
LONGEST_PAUSE = 30.0
APPLICATION_NAME = "tocsin-engine-listener"  # how the connection shows in pg_stat_activity


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL (any driver) as the DSN asyncpg takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class WakeListener:
    def __init__(self, url: str, on_notify: Wake) -> None:
        self._dsn = asyncpg_dsn(url)
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None
        self.listening = asyncio.Event()  # set while LISTEN is in force (tests wait on it)
        self.connects = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="engine-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        pause = FIRST_PAUSE
        while True:
            try:
                await self._listen()
                pause = FIRST_PAUSE  # it listened, then dropped: try again soon
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("engine listener: no connection to PostgreSQL (%s: %s); retrying in %.1f s "
                            "(work from other processes is found at the next idle look meanwhile)",
                            type(exc).__name__, exc, pause)
            self.listening.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    async def _listen(self) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT,
                                           server_settings={"application_name": APPLICATION_NAME})
        self._connection = connection
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(CHANNEL, self._notified)
            self.connects += 1
            self.listening.set()
            if self.connects > 1:
                log.info("engine listener: listening again on %s", CHANNEL)
                self._on_notify(None)  # whatever was announced while we were away
            while not lost.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PING_SECONDS)
                    break
                await asyncio.wait_for(connection.execute("SELECT 1"), PING_TIMEOUT)
            log.warning("engine listener: the connection to PostgreSQL closed; reconnecting")
        finally:
            self._connection = None
            connection.terminate()  # closing politely could wait on a dead peer

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self._on_notify(decode(payload))
