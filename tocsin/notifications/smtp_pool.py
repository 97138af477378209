"""A few open SMTP connections, reused from message to message (one pool per email channel).

A burst of pages to one server then costs a handful of connections (TCP, greeting, EHLO, TLS,
AUTH) instead of one each. At most ``size`` connections are open at once; a send waits for one
to come free. A connection that errored in any way is closed, never reused; one that has been
idle ``idle_seconds`` is closed (politely, with QUIT), and so is one that carried
``max_messages`` (servers limit messages per connection); ``aclose`` closes every idle one.

Connections belong to the event loop that opened them: a pool used from another loop (each test
has its own) drops what it holds and starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiosmtplib

QUIT_TIMEOUT = 2.0  # seconds a polite QUIT may take before the socket is just closed


class PoolBusy(Exception):
    """Every connection stayed in use while a send waited for one."""


@dataclass(eq=False)
class Lease:
    """One connection lent to one send. ``reused``: it carried a message before (the server may
    have closed it meanwhile without our noticing yet)."""

    client: aiosmtplib.SMTP
    loop: asyncio.AbstractEventLoop
    messages: int = 0
    idle_since: float = field(default=0.0)

    @property
    def reused(self) -> bool:
        return self.messages > 0


def _drop(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):  # its loop may be closed already (a previous test's)
        client.close()


async def _quit(client: aiosmtplib.SMTP) -> None:
    # A goodbye that fails changes nothing: the socket is closed anyway.
    with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        async with asyncio.timeout(QUIT_TIMEOUT):
            await client.quit()
    _drop(client)


class SmtpPool:
    def __init__(self, connect: Callable[[], Awaitable[aiosmtplib.SMTP]], *, size: int = 8,
                 idle_seconds: float = 5.0, max_messages: int = 100,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if size < 1:
            raise ValueError("an SMTP pool needs room for at least one connection")
        self._connect, self.size, self.idle_seconds = connect, size, idle_seconds
        self.max_messages, self._clock = max_messages, clock
        self._loop: asyncio.AbstractEventLoop | None = None
        # Free connection slots, and the sends waiting for one (first come, first served). Not an
        # asyncio.Semaphore: its acquire looks at every waiter, and a batch queues hundreds.
        self._free = size
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._idle: list[Lease] = []  # most recently used last: reused first, the oldest expire
        self._timer: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()  # QUITs under way (kept from the GC)
        self.opened = 0  # connections opened so far (for tests and the curious)

    def _this_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or a new loop: nothing held is usable here
            for lease in self._idle:
                _drop(lease.client)
            self._idle.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._free, self._waiting = self.size, deque()
            self._loop = loop
        return loop

    async def acquire(self, *, wait: float) -> Lease:
        """An open connection (an idle one if any, else a new one); give it back with ``release``.
        ``PoolBusy`` when none came free within ``wait`` seconds (nothing was sent)."""
        loop = self._this_loop()
        await self._take_slot(loop, wait)
        try:
            while self._idle:
                lease = self._idle.pop()
                if lease.client.is_connected and self._clock() - lease.idle_since < self.idle_seconds:
                    return lease
                self._close_later(lease.client)
            client = await self._connect()
        except BaseException:
            self._give_slot()
            raise
        self.opened += 1
        return Lease(client, loop)

    def release(self, lease: Lease, *, healthy: bool) -> None:
        """Give ``lease`` back after a send; ``healthy``: it ended without any error."""
        lease.messages += 1
        current = self._loop is lease.loop and not lease.loop.is_closed()
        if current:
            self._give_slot()
        if not (healthy and current and lease.client.is_connected):
            _drop(lease.client)
        elif lease.messages >= self.max_messages:
            self._close_later(lease.client)
        else:
            lease.idle_since = self._clock()
            self._idle.append(lease)
            if self._timer is None:
                self._timer = lease.loop.call_later(self.idle_seconds, self._expire)

    async def _take_slot(self, loop: asyncio.AbstractEventLoop, wait: float) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn: asyncio.Future[None] = loop.create_future()
        self._waiting.append(turn)
        try:
            async with asyncio.timeout(wait):
                await turn
        except BaseException as exc:
            if turn.done() and not turn.cancelled():
                self._give_slot()  # handed a slot just as we gave up: pass it on
            else:
                turn.cancel()  # skipped when its turn comes
            if isinstance(exc, TimeoutError):
                raise PoolBusy(f"all {self.size} connections stayed busy for {wait:g} s") from None
            raise

    def _give_slot(self) -> None:
        """A slot came free: straight to the first send still waiting, else back to the pool."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1

    def _close_later(self, client: aiosmtplib.SMTP) -> None:
        task = asyncio.get_running_loop().create_task(_quit(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _expire(self) -> None:
        """Close the connections idle too long; look again when the next one will be."""
        self._timer = None
        now = self._clock()
        keep = [lease for lease in self._idle if now - lease.idle_since < self.idle_seconds]
        for lease in self._idle:
            if lease not in keep:
                self._close_later(lease.client)
        self._idle = keep
        if keep and self._loop is not None:
            wait = max(0.0, keep[0].idle_since + self.idle_seconds - now)
            self._timer = self._loop.call_later(wait, self._expire)

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def aclose(self) -> None:
        """Close every idle connection (QUIT) and wait for the goodbyes under way."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        idle, self._idle = self._idle, []
        if self._loop is not asyncio.get_running_loop():
            for lease in idle:
                _drop(lease.client)
            return
        for lease in idle:
            self._close_later(lease.client)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
