"""``tocsin serve``: uvicorn with the connection limits an exposed server needs.

Left to itself, uvicorn never times out a connection that has not sent a complete request (an
idle new connection, or one sending its headers or body slowly) nor one that does not read its
answer, and accepts connections until the process runs out of file descriptors; accept() then
fails and clients are dropped with no answer and no log line (libuv closes them unanswered, and
on a second failure uvloop stops listening altogether). Here:

* the soft open-file limit is raised to the hard limit at start (logged);
* at most ``max_connections`` connections are open, kept ``RESERVED_FILES`` below that limit;
  one past it is answered ``503`` (PagerDuty's error shape) and closed, and refusals are logged
  (the first at once, the rest summed up every ``REFUSAL_LOG_INTERVAL`` seconds);
* a connection has ``request_timeout`` seconds to send a whole request (headers and body), from
  its opening or its first byte after a response, or it is closed; idle keep-alive
  connections close after ``keepalive_timeout`` seconds (uvicorn's own timer);
* a client that takes nothing of its answer for ``request_timeout`` seconds is cut off.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any, cast

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from tocsin.config import Settings

log = logging.getLogger(__name__)

# File descriptors kept for everything but accepted client connections: database connections,
# the SQLite file and its WAL, logs, the listening socket, and refused connections in their grace.
RESERVED_FILES = 128
REFUSAL_LOG_INTERVAL = 10.0
# A refused connection stays open up to REFUSED_GRACE seconds, until its request has arrived:
# closing with the request unread resets the connection, and the client may lose the 503. Only
# REFUSALS_HELD wait at once (their descriptors come out of the reserve); past that, a flood of
# refused connections is answered and closed at once, as reliably as the network allows.
REFUSED_GRACE = 1.0
REFUSALS_HELD = 32


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


class Refusals:
    """Refused connections: how many wait in their grace, and a loud log that a burst cannot
    silence (what is refused after a log line is logged when the interval ends, not never)."""

    def __init__(self, cap: int, interval: float = REFUSAL_LOG_INTERVAL) -> None:
        self.cap, self.interval = cap, interval
        self.held = 0
        self.unlogged = 0
        self.last_logged = float("-inf")
        self._flush: asyncio.TimerHandle | None = None

    def refused(self, loop: asyncio.AbstractEventLoop) -> None:
        self.unlogged += 1
        wait = self.last_logged + self.interval - loop.time()
        if wait <= 0:
            self._log(loop)
        elif self._flush is None:
            self._flush = loop.call_later(wait, self._log, loop)

    def _log(self, loop: asyncio.AbstractEventLoop) -> None:
        now, self._flush = loop.time(), None
        log.error("refused %d connection(s) with 503 in the last %.0f s: %d open, the most allowed "
                  "(TOCSIN_MAX_CONNECTIONS, below the open-file limit)", self.unlogged,
                  min(now - self.last_logged, self.interval), self.cap)
        self.unlogged, self.last_logged = 0, now


_BUSY_BODY = orjson.dumps({"error": {"message": "Too many open connections; retry later", "code": 2000,
                                     "errors": ["The server is at its connection limit"]}})
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n"
    b"connection: close\r\ncontent-length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)


def guarded_protocol(max_connections: int, request_timeout: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a connection cap, a whole-request deadline and a
    deadline for the client to take its answer."""
    refusals = Refusals(max_connections)

    class GuardedProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _write_deadline: asyncio.TimerHandle | None = None
        _unsent = 0
        _refused = False  # answered 503 and waiting (or not) to be closed
        _held = False  # refused, and counted in refusals.held until its connection is lost
        _lost = False
        _answering: RequestResponseCycle | None = None  # the request whose answer is under way

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's own
            if len(self.connections) >= max_connections:
                self._refuse(transport)
                return
            super().connection_made(transport)
            # Told to pause whenever any of an answer waits in our buffer (the kernel's is full),
            # so a client that stops reading is noticed even when the rest of its answer is small
            # (transport.close() waits for that buffer to drain: forever, for such a client).
            transport.set_write_buffer_limits(high=0, low=0)
            self._arm()

        def _refuse(self, transport: asyncio.Transport) -> None:
            self.transport, self._refused = transport, True
            refusals.refused(self.loop)
            transport.write(BUSY_RESPONSE)
            if transport.can_write_eof():
                transport.write_eof()
            if refusals.held >= REFUSALS_HELD:
                transport.close()
                return
            self._held = True
            refusals.held += 1
            self.loop.call_later(REFUSED_GRACE, transport.close)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                self.transport.close()  # its request has arrived: closing no longer resets
                return
            # uvicorn declares ``cycle`` as always set, but it is None until the first request.
            cycle = cast("RequestResponseCycle | None", self.cycle)
            if self._deadline is None and (cycle is None or cycle.response_complete):
                self._arm()  # the first byte of the next request on a kept-alive connection
            super().data_received(data)

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                if self._held:
                    self._held = False
                    refusals.held -= 1
                return  # uvicorn never saw this connection
            if not self._lost:  # called twice for a client cut off (see _check_progress)
                self._lost = True
                self._disarm()
                self._stop_write_watch()
                super().connection_lost(exc)

        def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
            self._answering = cycle
            super()._start_asgi_task(cycle, app)

        def pause_writing(self) -> None:
            super().pause_writing()
            self._expect_progress()

        def resume_writing(self) -> None:
            self._stop_write_watch()
            super().resume_writing()

        def _expect_progress(self) -> None:
            """The client must take some of the waiting answer within the deadline; a slow reader
            that keeps taking some is left alone."""
            self._unsent = self.transport.get_write_buffer_size()
            self._write_deadline = self.loop.call_later(request_timeout, self._check_progress)

        def _check_progress(self) -> None:
            self._write_deadline = None
            if self.transport.get_write_buffer_size() < self._unsent:
                self._expect_progress()
                return
            log.info("closed a connection from %s that did not read its answer in %.0f s",
                     self.client[0] if self.client else "?", request_timeout)
            self.transport.abort()  # close() would wait for the buffer to drain
            # Tell uvicorn now, not on the next loop turn, and about the answer under way too:
            # uvicorn marks only the last request read, and with requests pipelined the one
            # being answered would write to the closed transport and fail.
            if self._answering is not None:
                self._answering.disconnected = True
            self.connection_lost(None)

        def _stop_write_watch(self) -> None:
            if self._write_deadline is not None:
                self._write_deadline.cancel()
                self._write_deadline = None

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
        # Tocsin decides whom to believe about the client's address (TOCSIN_TRUSTED_PROXIES,
        # tocsin.allowlists.guard); uvicorn's own default would take X-Forwarded-For from any
        # process on 127.0.0.1.
        proxy_headers=False,
    )
