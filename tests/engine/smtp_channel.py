"""A real SMTP round trip for the engine tests: an aiosmtpd server on loopback that keeps what it
receives (and refuses chosen recipients), and a tiny email Channel that talks to it with smtplib.

The channels helper's ``tocsin.notifications.email`` channel replaces the tiny one once merged;
the server stays the same."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tocsin.notifications.channel import ChannelError, Delivery, Message


@dataclass
class Mailbox:
    """What the server accepted; recipients containing ``refuse`` get a 550."""

    received: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if "refuse" in address:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 2.0.0 Queued as TEST1"


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield SmtpServer(controller.hostname, controller.port, mailbox)
    finally:
        controller.stop()


class SmtpEmailChannel:
    """An email Channel over plain SMTP (smtplib in a worker thread)."""

    name = "email"

    def __init__(self, server: SmtpServer, sender: str = "tocsin@tocsin.test") -> None:
        self._server = server
        self._sender = sender

    @property
    def configured(self) -> bool:
        return True

    def _deliver(self, message: Message) -> dict[str, Any]:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self._sender, message.address, message.subject
        mail["Message-ID"] = f"<{message.notification_id}@tocsin.test>"
        mail.set_content(message.text)
        with smtplib.SMTP(self._server.host, self._server.port, timeout=5) as smtp:
            smtp.ehlo()
            smtp.mail(self._sender)
            code, reply = smtp.rcpt(message.address)
            if code >= 400:
                raise ChannelError(f"SMTP refused {message.address}: {code} {reply.decode()}", transient=code < 500,
                                   response={"code": code, "reply": reply.decode()})
            code, reply = smtp.data(mail.as_bytes())
        return {"code": code, "reply": reply.decode(), "message_id": mail["Message-ID"]}

    async def send(self, message: Message) -> Delivery:
        return Delivery(await asyncio.to_thread(self._deliver, message))
