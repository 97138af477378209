"""PostgreSQL: wake this engine when another process commits work (``LISTEN tocsin_engine``).

The connection, its reconnecting and its ping are ``tocsin.db.channel_listener``'s (the web UI's
feed listens the same way). Once it listens again after a lost connection it wakes the engine:
notifications sent in the gap were lost, and the engine's idle cap (5 s) bounds the delay
meanwhile.
"""

from __future__ import annotations

import logging

from tocsin.db.channel_listener import ChannelListener, asyncpg_dsn
from tocsin.engine.signal import CHANNEL, Wake, decode

__all__ = ["APPLICATION_NAME", "WakeListener", "asyncpg_dsn"]

APPLICATION_NAME = "tocsin-engine-listener"  # how the connection shows in pg_stat_activity


class WakeListener(ChannelListener):
    channel = CHANNEL
    label = "engine listener"
    application_name = APPLICATION_NAME
    meanwhile = "work from other processes is found at the next idle look meanwhile"
    log = logging.getLogger(__name__)

    def __init__(self, url: str, on_notify: Wake) -> None:
        super().__init__(url)
        self._on_notify = on_notify

    def heard(self, payload: str) -> None:
        self._on_notify(decode(payload))

    def reconnected(self) -> None:
        self._on_notify(None)  # whatever was announced while we were away
