"""The live-update feed of the web UI: which incidents changed, pushed to open pages over SSE.

``Broadcaster`` is fed by ``incidents.change_feed`` after every commit that changed incidents
(in this process), and on PostgreSQL by ``FeedListener`` (``LISTEN tocsin_incidents``: the
changes other processes committed). Each open page holds a ``Subscription``; the SSE endpoint
waits on it, lets a short burst of changes gather (``GATHER_SECONDS``) and sends one event, so an
alert storm costs a page a few refreshes a second, not one per change.

Nothing here is durable: a page that lost its connection reconnects (EventSource does that by
itself) and the first event after reconnecting asks it to refresh.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import suppress
from typing import Any

import asyncpg

from tocsin.engine.listener import asyncpg_dsn
from tocsin.incidents.change_feed import CHANNEL, decode

log = logging.getLogger(__name__)
GATHER_SECONDS = 0.15
PING_SECONDS = 30.0
LONGEST_PAUSE = 30.0


class Subscription:
    """One page's pending changes: incident ids, or ``everything``."""

    def __init__(self) -> None:
        self.changed: set[str] = set()
        self.everything = False
        self.event = asyncio.Event()

    def note(self, ids: frozenset[str] | None) -> None:
        if ids is None:
            self.everything = True
        else:
            self.changed |= ids
        self.event.set()

    def take(self) -> tuple[bool, set[str]]:
        """(everything, ids) gathered since the last take."""
        everything, changed = self.everything, self.changed
        self.everything, self.changed = False, set()
        self.event.clear()
        return everything, changed


class Broadcaster:
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self.published = 0  # how many announcements arrived (tests read it)

    def subscribe(self) -> Subscription:
        self._loop = asyncio.get_running_loop()
        subscription = Subscription()
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def publish(self, ids: frozenset[str] | None) -> None:
        """Safe from any thread (SQLite commits in the writer thread)."""
        self.published += 1
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # nobody has subscribed yet
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            self._fan_out(ids)
        else:
            loop.call_soon_threadsafe(self._fan_out, ids)

    def _fan_out(self, ids: frozenset[str] | None) -> None:
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.note(ids)


class FeedListener:
    """PostgreSQL: publish the incident changes other processes commit (``LISTEN``) on one
    dedicated connection, reconnecting with a growing pause; a reconnect publishes "everything"
    (what was announced meanwhile is lost)."""

    def __init__(self, url: str, broadcaster: Broadcaster, origin: str) -> None:
        self._dsn = asyncpg_dsn(url)
        self._broadcaster = broadcaster
        self._origin = origin
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        self._connects = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ui-feed-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        pause = 0.5
        while True:
            try:
                await self._listen()
                pause = 0.5
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("ui feed listener: no connection to PostgreSQL (%s); retrying in %.1f s", exc, pause)
            self.listening.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    async def _listen(self) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=10,
                                           server_settings={"application_name": "tocsin-ui-feed"})
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(CHANNEL, self._notified)
            self._connects += 1
            self.listening.set()
            if self._connects > 1:
                self._broadcaster.publish(None)  # what was announced while we were away
            while not lost.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PING_SECONDS)
                    break
                await asyncio.wait_for(connection.execute("SELECT 1"), 5)
        finally:
            connection.terminate()

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        origin, ids = decode(payload)
        if origin != self._origin:
            self._broadcaster.publish(ids)
