"""``tocsin serve``: uvicorn with the connection limits an exposed server needs.

Left to itself, uvicorn never times out a connection that has not sent a complete request (an
idle new connection, or one sending its headers or body slowly), and accepts connections until
the process runs out of file descriptors; accept() then fails and every client is refused with
no answer and no log line. Here:

* the soft open-file limit is raised to the hard limit at start (logged);
* at most ``max_connections`` connections are open, kept below that limit; one past it is
  answered ``503`` at once (PagerDuty's error shape) and closed, with a warning logged at most
  every ``REFUSAL_LOG_INTERVAL`` seconds;
* a connection has ``request_timeout`` seconds to send a whole request (headers and body), from
  its opening or its first byte after a response, or it is closed; idle keep-alive
  connections close after ``keepalive_timeout`` seconds (uvicorn's own timer).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any, cast

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from tocsin.config import Settings

log = logging.getLogger(__name__)

# File descriptors kept for everything but client connections: database connections, the
# SQLite file and its WAL, logs, the listening socket.
RESERVED_FILES = 128
REFUSAL_LOG_INTERVAL = 10.0
REFUSED_GRACE = 1.0  # seconds a refused connection stays open to read its request before closing


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit where allowed; return the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.info("open-file limit raised from %d to %d", soft, target)
            return target
        except (ValueError, OSError) as exc:
            log.warning("open-file limit stays %d (could not raise it to %d: %s)", soft, target, exc)
            return soft
    log.info("open-file limit is %d (the hard limit)", soft)
    return soft


def connection_cap(requested: int, open_file_limit: int) -> int:
    """At most ``requested`` connections, and always fewer than the process can open."""
    return max(1, min(requested, open_file_limit - RESERVED_FILES))


@dataclass
class RefusalLog:
    """Counts refused connections and logs them loudly, at most once per interval."""

    interval: float = REFUSAL_LOG_INTERVAL
    refused: int = 0
    last_logged: float = float("-inf")

    def refuse(self, cap: int) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self.last_logged >= self.interval:
            log.error("refused %d connection(s) with 503 in the last %.0f s: %d open, the most allowed "
                      "(TOCSIN_MAX_CONNECTIONS, below the open-file limit)", self.refused,
                      min(now - self.last_logged, self.interval), cap)
            self.refused, self.last_logged = 0, now


_BUSY_BODY = orjson.dumps({"error": {"message": "Too many open connections; retry later", "code": 2000,
                                     "errors": ["The server is at its connection limit"]}})
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n"
    b"connection: close\r\ncontent-length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)


def guarded_protocol(max_connections: int, request_timeout: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a connection cap and a whole-request deadline."""
    refusals = RefusalLog()

    class GuardedProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _refused = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's own
            if len(self.connections) >= max_connections:
                self._refuse(transport)
                return
            super().connection_made(transport)
            self._arm()

        def _refuse(self, transport: asyncio.Transport) -> None:
            """Answer 503 and end our side; close a moment later, once the client's request has
            been read (closing with unread data would reset the connection and lose the answer)."""
            self.transport, self._refused = transport, True
            transport.write(BUSY_RESPONSE)
            if transport.can_write_eof():
                transport.write_eof()
            self.loop.call_later(REFUSED_GRACE, transport.close)
            refusals.refuse(max_connections)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return  # the request of a refused connection: read and dropped
            # uvicorn declares ``cycle`` as always set, but it is None until the first request.
            cycle = cast("RequestResponseCycle | None", self.cycle)
            if self._deadline is None and (cycle is None or cycle.response_complete):
                self._arm()  # the first byte of the next request on a kept-alive connection
            super().data_received(data)

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(request_timeout, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            log.info("closed a connection from %s that sent no complete request in %.0f s",
                     self.client[0] if self.client else "?", request_timeout)
            self.transport.close()

    return GuardedProtocol


def serve(app: Any, settings: Settings) -> None:
    """Run ``app`` with uvicorn under the limits above (blocks until the server stops)."""
    import uvicorn

    cap = connection_cap(settings.max_connections, raise_open_file_limit())
    log.info("accepting at most %d connections; a request must arrive within %s s; idle keep-alive "
             "connections close after %s s", cap, settings.request_timeout, settings.keepalive_timeout)
    uvicorn.run(
        app, host=settings.host, port=settings.port, loop="uvloop",
        http=guarded_protocol(cap, settings.request_timeout),
        timeout_keep_alive=settings.keepalive_timeout, log_level=settings.log_level, access_log=False,
        lifespan="on",
    )
