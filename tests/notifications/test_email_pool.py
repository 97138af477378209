"""The email channel's pooled SMTP connections, against a real SMTP server (aiosmtpd) that counts
its sessions (EHLO or HELO) and goodbyes (QUIT)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.notifications.servers import Inbox, SmtpServer, start_smtp
from tocsin.notifications.channel import ChannelBusy, ChannelError, Message
from tocsin.notifications.email import EmailChannel
from tocsin.notifications.smtp_pool import PoolBusy

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


@dataclass
class Counting(Inbox):
    sessions: int = 0
    goodbyes: int = 0
    closing: int = 0  # MAIL commands to answer "421 closing"

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str) -> str:
        self.sessions += 1
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        if self.closing:  # "421 closing": what a server says to a connection it is done with
            self.closing -= 1
            return "421 4.4.2 Idle too long, closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.goodbyes += 1
        return "221 Bye"


@dataclass
class Server:
    smtp: SmtpServer
    inbox: Counting
    controller: Controller

    def restart(self) -> None:
        """Stop (dropping every connection) and start again on the same port."""
        self.controller.stop()
        self.controller = Controller(self.inbox, hostname=self.smtp.host, port=self.smtp.port)
        self.controller.start()


@pytest.fixture
def server() -> Iterator[Server]:
    inbox = Counting()
    controller, smtp = start_smtp(inbox)
    running = Server(smtp, inbox, controller)
    try:
        yield running
    finally:
        running.controller.stop()


@pytest.fixture
async def made() -> AsyncIterator[list[EmailChannel]]:
    """Every channel a test makes, closed at its end."""
    channels: list[EmailChannel] = []
    yield channels
    for channel in channels:
        await channel.aclose()


@pytest.fixture
def channel(server: Server, made: list[EmailChannel]) -> Any:
    def make(**options: Any) -> EmailChannel:
        values: dict[str, Any] = {"host": server.smtp.host, "port": server.smtp.port,
                                  "sender": "Tocsin <tocsin@alerts.example.com>", "now": lambda: NOW,
                                  "timeout": 5.0, **options}
        made.append(EmailChannel(**values))
        return made[-1]
    return make


def page(n: int, address: str = "oncall@example.com") -> Message:
    return Message(notification_id=f"PN{n:04d}", channel="email", address=address, subject=f"Page {n}",
                   text=f"Page number {n}\n", html=f"<p>Page number {n}</p>")


async def test_messages_share_a_few_connections(server: Server, channel: Any) -> None:
    email = channel(pool_size=3)
    for n in range(5):  # one after another: one connection
        await email.send(page(n))
    assert (server.inbox.sessions, len(server.inbox.received)) == (1, 5)
    await asyncio.gather(*(email.send(page(n)) for n in range(5, 45)))  # a burst: at most three
    assert len(server.inbox.received) == 45
    assert server.inbox.sessions <= 3 < 45 and email.pool.opened == server.inbox.sessions
    ids = sorted(r.message["Message-ID"] for r in server.inbox.received)
    assert ids == sorted(f"<PN{n:04d}@alerts.example.com>" for n in range(45))  # each message its own


async def test_a_connection_that_errored_is_not_reused(server: Server, channel: Any) -> None:
    email = channel()
    await email.send(page(1))
    server.inbox.replies.append("451 4.3.0 Try again later")
    with pytest.raises(ChannelError) as caught:
        await email.send(page(2))
    assert caught.value.transient and email.pool.idle == 0  # closed, not put back
    await email.send(page(3))
    assert server.inbox.sessions == 2 and len(server.inbox.received) == 2


async def test_idle_connections_are_closed_after_a_while_and_at_aclose(server: Server, channel: Any) -> None:
    email = channel(idle_seconds=0.2)
    await email.send(page(1))
    assert email.pool.idle == 1
    await asyncio.sleep(0.6)
    assert email.pool.idle == 0 and server.inbox.goodbyes == 1  # said QUIT
    await email.send(page(2))  # a new connection
    assert email.pool.idle == 1 and server.inbox.sessions == 2
    await email.aclose()
    assert email.pool.idle == 0 and server.inbox.goodbyes == 2


async def test_a_connection_carries_at_most_max_messages(server: Server, channel: Any) -> None:
    email = channel()
    email.pool.max_messages = 3
    for n in range(7):
        await email.send(page(n))
    assert (server.inbox.sessions, len(server.inbox.received)) == (3, 7)


async def test_a_server_restart_between_sends_costs_nothing_but_a_new_connection(
        server: Server, channel: Any) -> None:
    email = channel()
    await email.send(page(1))
    server.restart()  # drops every connection, the pooled one too
    await email.send(page(2))
    assert [r.message["Subject"] for r in server.inbox.received] == ["Page 1", "Page 2"]
    assert server.inbox.sessions == 2


async def test_a_reused_connection_the_server_closes_is_replaced_at_once(server: Server, channel: Any) -> None:
    email = channel()
    await email.send(page(1))
    server.inbox.closing = 1
    await email.send(page(2))  # the 421 met the reused connection: sent again on a new one
    assert [r.message["Subject"] for r in server.inbox.received] == ["Page 1", "Page 2"]
    assert server.inbox.sessions == 2
    fresh = channel()
    server.inbox.closing = 1
    with pytest.raises(ChannelError) as caught:  # on a new connection a 421 is the server's answer
        await fresh.send(page(3))
    assert caught.value.transient and caught.value.response["code"] == 421


async def test_a_send_with_no_free_connection_is_busy_and_sends_nothing(server: Server, channel: Any) -> None:
    email = channel(pool_size=1, pool_wait=0.1)
    held = await email.pool.acquire(wait=1.0)
    with pytest.raises(ChannelBusy) as caught:
        await email.send(page(1))
    assert caught.value.transient and server.inbox.received == []
    with pytest.raises(PoolBusy):
        await email.pool.acquire(wait=0.05)
    email.pool.release(held, healthy=True)
    await email.send(page(2))  # the freed connection is reused
    assert server.inbox.sessions == 1 and len(server.inbox.received) == 1


async def test_a_waiting_send_is_handed_the_connection_first_come_first_served(
        server: Server, channel: Any) -> None:
    email = channel(pool_size=1)
    held = await email.pool.acquire(wait=1.0)
    order: list[int] = []

    async def send(n: int) -> None:
        await email.send(page(n))
        order.append(n)

    waiting = [asyncio.create_task(send(n)) for n in range(4)]
    await asyncio.sleep(0.05)
    waiting[1].cancel()  # one gives up while waiting: its turn passes to the next
    email.pool.release(held, healthy=True)
    await asyncio.gather(*waiting, return_exceptions=True)
    assert order == [0, 2, 3] and server.inbox.sessions == 1


async def test_a_pool_used_from_another_event_loop_starts_afresh(server: Server, channel: Any) -> None:
    email = channel()
    await email.send(page(1))

    async def elsewhere() -> None:
        await email.send(page(2))  # this loop's connection is not used there
        await email.aclose()

    await asyncio.to_thread(asyncio.run, elsewhere())  # another thread, another loop
    await email.send(page(3))  # back here: nor the other loop's
    assert len(server.inbox.received) == 3 and server.inbox.sessions == 3
