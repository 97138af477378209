"""PostgreSQL: hear one ``NOTIFY`` channel (``LISTEN``) on a dedicated connection that reconnects.

Shared by the engine's wake-up (``tocsin.engine.listener``) and the web UI's live feed
(``tocsin.ui.feed``). One asyncpg connection outside the pool (a pooled connection would be
handed to other work, and a LISTEN lives only as long as its connection). If the connection
drops, the listener reconnects with a growing pause and, once it listens again, calls
``reconnected``: notifications sent in the gap were lost, so the owner catches up its own way.
A connection that hangs without closing (a silent network partition) is found by a ping every
``PING_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any, ClassVar

import asyncpg
from sqlalchemy.engine import make_url

PING_SECONDS = 30.0
PING_TIMEOUT = 5.0
CONNECT_TIMEOUT = 10.0
FIRST_PAUSE = 0.5
LONGEST_PAUSE = 30.0


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL (any driver) as the DSN asyncpg takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class ChannelListener:
    """A subclass names its channel and how it shows (class attributes) and says what a
    notification's payload does (``heard``) and how to catch up after a lost connection
    (``reconnected``)."""

    channel: ClassVar[str]
    label: ClassVar[str]  # names it in logs and its task
    application_name: ClassVar[str]  # how its connection shows in pg_stat_activity
    meanwhile: ClassVar[str]  # what covers the gap while it cannot listen (said in the log)
    log: ClassVar[logging.Logger]  # the owner's logger, so its log lines keep their name

    def __init__(self, url: str) -> None:
        self._dsn = asyncpg_dsn(url)
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while LISTEN is in force (tests wait on it)
        self.connects = 0

    def heard(self, payload: str) -> None:
        raise NotImplementedError

    def reconnected(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.label.replace(" ", "-"))

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
                self.log.warning("%s: no connection to PostgreSQL (%s: %s); retrying in %.1f s (%s)",
                                  self.label, type(exc).__name__, exc, pause, self.meanwhile)
            self.listening.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    async def _listen(self) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT,
                                           server_settings={"application_name": self.application_name})
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(self.channel, self._notified)
            self.connects += 1
            self.listening.set()
            if self.connects > 1:
                self.log.info("%s: listening again on %s", self.label, self.channel)
                self.reconnected()  # whatever was announced while we were away
            while not lost.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PING_SECONDS)
                    break
                await asyncio.wait_for(connection.execute("SELECT 1"), PING_TIMEOUT)
            self.log.warning("%s: the connection to PostgreSQL closed; reconnecting", self.label)
        finally:
            connection.terminate()  # closing politely could wait on a dead peer

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self.heard(payload)
