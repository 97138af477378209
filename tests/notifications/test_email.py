"""The email channel against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from tests.certificates import Certificate
from tests.notifications.servers import Inbox, SmtpServer, free_port, running_smtp, start_smtp
from tocsin.notifications.channel import ChannelError, Message, NotConfigured
from tocsin.notifications.email import EmailChannel, Security, message_id

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
SENDER = "Tocsin <tocsin@alerts.example.com>"


_made: list[EmailChannel] = []


async def close_channels() -> None:
    """Every channel made so far closes its pooled connections (before its server stops: a
    server stopped with connections open leaves their sockets behind)."""
    while _made:
        await _made.pop().aclose()


@pytest.fixture
async def smtp_server() -> AsyncIterator[SmtpServer]:
    with running_smtp() as server:
        yield server
        await close_channels()


@pytest.fixture(autouse=True)
async def _close_channels() -> AsyncIterator[None]:
    yield
    await close_channels()


def channel(server: SmtpServer | None, *, port: int | None = None, security: Security = "none",
            **options: Any) -> EmailChannel:
    host = server.host if server else "127.0.0.1"
    values: dict[str, Any] = {"host": host, "port": port or (server.port if server else 25), "sender": SENDER,
                              "now": lambda: NOW, "security": security, "timeout": 5.0, **options}
    _made.append(EmailChannel(**values))
    return _made[-1]


def page(notification_id: str = "PNOTE01", address: str = "oncall@example.com") -> Message:
    return Message(notification_id=notification_id, channel="email", address=address,
                   subject="[Tocsin] Incident #12 (high urgency): Disk full",
                   text="Disk full on db-1\nAcknowledge: http://t/a\n",
                   html="<p>Disk full on <b>db-1</b> &amp; more</p>")


async def test_a_message_arrives_with_both_parts_and_a_stable_message_id(smtp_server: SmtpServer) -> None:
    delivery = await channel(smtp_server).send(page())
    [got] = smtp_server.inbox.received
    assert got.recipients == ["oncall@example.com"]
    assert got.sender == "tocsin@alerts.example.com"
    mail = got.message
    assert mail["Subject"] == "[Tocsin] Incident #12 (high urgency): Disk full"
    assert mail["To"] == "oncall@example.com"
    assert mail["Message-ID"] == "<PNOTE01@alerts.example.com>" == message_id("PNOTE01", SENDER)
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Date"] == "Sat, 05 Dec 2026 03:00:00 +0000"
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and "Disk full on db-1" in plain.get_content()
    assert html is not None and "<b>db-1</b> &amp; more" in html.get_content()
    assert delivery.response["code"] == 250 and "accepted" in delivery.response["message"]
    assert delivery.response["message_id"] == "<PNOTE01@alerts.example.com>"


async def test_a_resend_of_one_notification_carries_the_same_message_id(smtp_server: SmtpServer) -> None:
    for _ in range(2):
        await channel(smtp_server).send(page("PSAME"))
    ids = {r.message["Message-ID"] for r in smtp_server.inbox.received}
    assert len(smtp_server.inbox.received) == 2 and ids == {"<PSAME@alerts.example.com>"}


async def test_a_4xx_reply_is_transient_and_keeps_the_servers_answer(smtp_server: SmtpServer) -> None:
    smtp_server.inbox.replies.append("451 4.3.0 Mailbox temporarily unavailable")
    with pytest.raises(ChannelError) as caught:
        await channel(smtp_server).send(page())
    assert caught.value.transient
    assert caught.value.response == {"code": 451, "message": "4.3.0 Mailbox temporarily unavailable"}
    await channel(smtp_server).send(page())  # the server is back: the same message goes through
    assert len(smtp_server.inbox.received) == 1


async def test_a_5xx_reply_is_permanent(smtp_server: SmtpServer) -> None:
    smtp_server.inbox.replies.append("554 5.7.1 Message rejected as spam")
    with pytest.raises(ChannelError) as caught:
        await channel(smtp_server).send(page())
    assert not caught.value.transient
    assert caught.value.response["code"] == 554 and "spam" in str(caught.value)
    assert smtp_server.inbox.received == []


@pytest.mark.parametrize(("reply", "transient"), [("550 5.1.1 No such user", False), ("450 4.2.1 Try later", True)])
async def test_a_refused_recipient_is_judged_by_its_code(smtp_server: SmtpServer, reply: str, transient: bool) -> None:
    smtp_server.inbox.refused_recipients["gone@example.com"] = reply
    with pytest.raises(ChannelError) as caught:
        await channel(smtp_server).send(page(address="gone@example.com"))
    assert caught.value.transient is transient
    assert caught.value.response["code"] == int(reply[:3])


async def test_a_server_that_is_down_is_transient() -> None:
    with pytest.raises(ChannelError) as caught:
        await channel(None, port=free_port()).send(page())  # nothing listens there
    assert caught.value.transient
    assert "unreachable" in str(caught.value)


async def test_a_server_that_never_answers_times_out_as_transient() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) but never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        mute = channel(None, port=silent.getsockname()[1], timeout=0.3)
        with pytest.raises(ChannelError) as caught:
            await mute.send(page())
    assert caught.value.transient


@pytest.mark.parametrize(("host", "sender", "missing"), [
    ("", SENDER, "TOCSIN_SMTP_HOST"), ("127.0.0.1", "", "TOCSIN_EMAIL_FROM"),
    ("", "", "TOCSIN_SMTP_HOST and TOCSIN_EMAIL_FROM"),
])
async def test_without_host_or_sender_it_is_not_configured(host: str, sender: str, missing: str) -> None:
    unset = EmailChannel(host=host, port=25, sender=sender, now=lambda: NOW)
    assert not unset.configured
    with pytest.raises(NotConfigured) as caught:
        await unset.send(page())
    assert not caught.value.transient and missing in str(caught.value)


async def test_a_header_injection_in_the_address_is_refused_permanently(smtp_server: SmtpServer) -> None:
    with pytest.raises(ChannelError) as caught:
        await channel(smtp_server).send(page(address="a@example.com\r\nBcc: victim@example.com"))
    assert not caught.value.transient
    assert smtp_server.inbox.received == []


# --- security modes and login, against TLS-speaking servers ------------------------------------

async def test_starttls_upgrades_and_logs_in(certificate: Certificate) -> None:
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(mechanism: str, login: bytes, password: bytes) -> bool:
        logins.append((login, password))
        return password == b"s3cret"

    inbox = Inbox()
    controller, server = start_smtp(inbox, tls_context=certificate.server_context(), require_starttls=True,
                                    auth_required=True, auth_callback=authenticate)
    try:
        tls = channel(server, security="starttls", tls_context=certificate.client_context(),
                      username="tocsin", password=SecretStr("s3cret"))
        await tls.send(page())
        plain = channel(server, security="none", username="tocsin", password=SecretStr("s3cret"))
        with pytest.raises(ChannelError) as caught:  # the server insists on STARTTLS first
            await plain.send(page())
    finally:
        await close_channels()
        controller.stop()
    assert len(inbox.received) == 1
    assert logins == [(b"tocsin", b"s3cret")]
    assert not caught.value.transient  # 530 "must issue STARTTLS first" or no AUTH offered: fix the settings


async def test_implicit_tls(certificate: Certificate) -> None:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ssl_context=certificate.server_context())
    controller.start()
    try:
        server = SmtpServer("127.0.0.1", controller.port, inbox)
        await channel(server, security="tls", tls_context=certificate.client_context()).send(page())
    finally:
        await close_channels()
        controller.stop()
    assert [r.recipients for r in inbox.received] == [["oncall@example.com"]]


async def test_security_none_never_upgrades_even_when_offered(certificate: Certificate) -> None:
    seen: list[bool] = []

    class Watching(Inbox):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            seen.append(session.ssl is not None)
            return await super().handle_DATA(server, session, envelope)

    controller, server = start_smtp(Watching(), tls_context=certificate.server_context())
    try:
        await channel(server, security="none").send(page())
    finally:
        await close_channels()
        controller.stop()
    assert seen == [False]
