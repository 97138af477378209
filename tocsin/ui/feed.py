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

from tocsin.db.channel_listener import ChannelListener
from tocsin.incidents.change_feed import CHANNEL, decode

GATHER_SECONDS = 0.15


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


class FeedListener(ChannelListener):
    """PostgreSQL: publish the incident changes other processes commit (``LISTEN``) on one
    dedicated connection (``tocsin.db.channel_listener``: reconnecting with a growing pause); a
    reconnect publishes "everything" (what was announced meanwhile is lost)."""

    channel = CHANNEL
    label = "ui feed listener"
    application_name = "tocsin-ui-feed"
    meanwhile = "open pages refresh once it listens again"
    log = logging.getLogger(__name__)

    def __init__(self, url: str, broadcaster: Broadcaster, origin: str) -> None:
        super().__init__(url)
        self._broadcaster = broadcaster
        self._origin = origin

    def heard(self, payload: str) -> None:
        origin, ids = decode(payload)
        if origin != self._origin:
            self._broadcaster.publish(ids)

    def reconnected(self) -> None:
        self._broadcaster.publish(None)
