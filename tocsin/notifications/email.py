"""Email over SMTP (aiosmtplib): one connection per message, every step bounded by a timeout.

Failures are sorted the way SMTP means them: a 4xx reply ("try again later"), a refused or
dropped connection and a timeout are transient (retried with backoff); a 5xx reply is permanent.
The ``Message-ID`` is made from the notification id, so the same notification sent twice (an
engine that died after the server accepted it but before recording that) is recognisable as one.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Literal

import aiosmtplib
from pydantic import SecretStr

from tocsin.notifications.channel import ChannelError, Delivery, Message, NotConfigured
from tocsin.notifications.models import EMAIL

Security = Literal["none", "starttls", "tls"]
TIMEOUT = 10.0  # seconds, for connecting and for each SMTP command


def message_id(notification_id: str, sender: str) -> str:
    """``<notification id@sender's domain>``: the same for every attempt of one notification."""
    domain = sender.rpartition("@")[2].strip(" >") or "tocsin"
    return f"<{notification_id}@{domain}>"


def build_email(message: Message, sender: str, now: datetime) -> EmailMessage:
    """The MIME message: plain text, plus an HTML alternative when there is one."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.address
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id(message.notification_id, sender)
    # RFC 3834: machine-made; out-of-office robots must not answer it.
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.text)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
    return mail


def _reply(code: int, text: str) -> dict[str, Any]:
    return {"code": code, "message": text}


def _refusal(code: int, text: str, what: str) -> ChannelError:
    """A reply code's meaning: 4xx try again later, 5xx never (anything else: try again)."""
    permanent = 500 <= code < 600
    return ChannelError(f"SMTP {what}: {code} {text}".strip(), transient=not permanent, response=_reply(code, text))


class EmailChannel:
    name = EMAIL

    def __init__(
        self, *, host: str, port: int, sender: str, now: Callable[[], datetime],
        username: str = "", password: SecretStr | None = None, security: Security = "none",
        timeout: float = TIMEOUT, helo_name: str | None = None, tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._host, self._port, self._sender, self._now = host, port, sender, now
        self._username, self._password, self._security = username, password or SecretStr(""), security
        self._timeout, self._helo_name, self._tls_context = timeout, helo_name, tls_context

    @property
    def configured(self) -> bool:
        return bool(self._host and self._sender)

    def missing(self) -> str:
        return " and ".join(n for n, v in (("TOCSIN_SMTP_HOST", self._host), ("TOCSIN_EMAIL_FROM", self._sender))
                            if not v)

    def _client(self) -> aiosmtplib.SMTP:
        login: dict[str, Any] = {}
        if self._username:
            login = {"username": self._username, "password": self._password.get_secret_value()}
        return aiosmtplib.SMTP(
            hostname=self._host, port=self._port, timeout=self._timeout,
            # "none" must mean none: aiosmtplib otherwise upgrades whenever the server offers it.
            use_tls=self._security == "tls", start_tls=self._security == "starttls",
            tls_context=self._tls_context,
            # Without a name aiosmtplib asks socket.getfqdn(), a blocking DNS lookup, every time.
            local_hostname=self._helo_name or "localhost", **login,
        )

    async def send(self, message: Message) -> Delivery:
        if not self.configured:
            raise NotConfigured(EMAIL, self.missing())
        try:
            mail = build_email(message, self._sender, self._now())
        except ValueError as exc:  # an address or header the email package refuses
            raise ChannelError(f"email not sendable: {exc}", transient=False) from exc
        try:
            # The per-command timeout bounds each step; this bounds the whole conversation.
            async with asyncio.timeout(self._timeout * 3):
                async with self._client() as client:
                    _refused, said = await client.send_message(mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            raise _refusal(first.code, first.message, "recipient refused") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _refusal(exc.code, exc.message, "refused") from exc
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError,
                OSError, TimeoutError) as exc:  # unreachable, dropped, too slow: try again later
            raise ChannelError(f"SMTP server unreachable: {type(exc).__name__}: {exc}", transient=True,
                               response={"error": type(exc).__name__}) from exc
        except aiosmtplib.SMTPException as exc:  # e.g. STARTTLS or AUTH asked of a server without it
            raise ChannelError(f"SMTP server does not support what is configured: {exc}", transient=False,
                               response={"error": type(exc).__name__}) from exc
        except ValueError as exc:  # aiosmtplib refuses an address it cannot send safely
            raise ChannelError(f"email not sendable: {exc}", transient=False) from exc
        return Delivery(response={**_reply(250, said), "message_id": mail["Message-ID"]})
