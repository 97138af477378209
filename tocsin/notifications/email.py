"""Email over SMTP (aiosmtplib): a few pooled connections, every step bounded by a timeout.

Messages go over a small pool of open connections (``smtp_pool``): a burst of pages to one
server pays for a handful of handshakes, not one per message. A connection that errored is
discarded; a reused one the server had closed meanwhile is replaced once, at once.

Failures are sorted the way SMTP means them: a 4xx reply ("try again later"), a refused or
dropped connection and a timeout are transient (retried with backoff); a 5xx reply is permanent.
The ``Message-ID`` is made from the notification id, so the same notification sent twice (an
engine that died after the server accepted it but before recording that) is recognisable as one.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Literal

import aiosmtplib
from pydantic import SecretStr

from tocsin.notifications.channel import ChannelBusy, ChannelError, Delivery, Message, NotConfigured
from tocsin.notifications.mime import Composed, Sender, compose, parse_sender
from tocsin.notifications.models import EMAIL
from tocsin.notifications.smtp_pool import PoolBusy, SmtpPool

Security = Literal["none", "starttls", "tls"]
TIMEOUT = 10.0  # seconds, for connecting and for each SMTP command
POOL_SIZE = 8  # connections open at once per channel (one server)
IDLE_SECONDS = 5.0  # an idle connection is closed after this long


def message_id(notification_id: str, sender: str) -> str:
    """``<notification id@sender's domain>``: the same for every attempt of one notification."""
    domain = sender.rpartition("@")[2].strip(" >") or "tocsin"
    return f"<{notification_id}@{domain}>"


def build_email(message: Message, sender: Sender, now: datetime) -> Composed:
    """The message's bytes and envelope: plain text, plus an HTML alternative when there is one."""
    return compose(message, sender, date=format_datetime(now), message_id=message_id(message.notification_id,
                   sender.value), boundary=f"=_tocsin_{secrets.token_hex(12)}")


def _reply(code: int, text: str) -> dict[str, Any]:
    return {"code": code, "message": text}


def _refusal(code: int, text: str, what: str) -> ChannelError:
    """A reply code's meaning: 4xx try again later, 5xx never (anything else: try again)."""
    permanent = 500 <= code < 600
    return ChannelError(f"SMTP {what}: {code} {text}".strip(), transient=not permanent, response=_reply(code, text))


def _stale(exc: BaseException) -> bool:
    """Whether ``exc`` on a reused connection says the server had closed it (idle too long, or
    "421 closing"): worth one more try on a new connection at once."""
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | ConnectionError):
        return True
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code == 421


class EmailChannel:
    name = EMAIL

    def __init__(
        self, *, host: str, port: int, sender: str, now: Callable[[], datetime],
        username: str = "", password: SecretStr | None = None, security: Security = "none",
        timeout: float = TIMEOUT, helo_name: str | None = None, tls_context: ssl.SSLContext | None = None,
        pool_size: int = POOL_SIZE, idle_seconds: float = IDLE_SECONDS, pool_wait: float | None = None,
    ) -> None:
        """``pool_wait``: how long a send waits for a free connection (default: the conversation's
        bound, three timeouts) before it gives up as ``ChannelBusy``."""
        self._host, self._port, self._sender, self._now = host, port, sender, now
        self._username, self._password, self._security = username, password or SecretStr(""), security
        self._timeout, self._helo_name, self._tls_context = timeout, helo_name, tls_context
        self._parsed_sender: Sender | None = None
        self._pool_wait = timeout * 3 if pool_wait is None else pool_wait
        self.pool = SmtpPool(self._open, size=pool_size, idle_seconds=idle_seconds)

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

    async def _open(self) -> aiosmtplib.SMTP:
        """A new connection: connected, greeted (EHLO), upgraded and logged in as configured."""
        client = self._client()
        async with asyncio.timeout(self._timeout * 3):
            await client.connect()
        return client

    def _sender_header(self) -> Sender:
        if self._parsed_sender is None:
            self._parsed_sender = parse_sender(self._sender)
        return self._parsed_sender

    async def send(self, message: Message) -> Delivery:
        if not self.configured:
            raise NotConfigured(EMAIL, self.missing())
        try:
            mail = build_email(message, self._sender_header(), self._now())
        except ValueError as exc:  # an address or header that cannot be sent safely
            raise ChannelError(f"email not sendable: {exc}", transient=False) from exc
        try:
            said = await self._deliver(mail)
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
        return Delivery(response={**_reply(250, said), "message_id": message_id(message.notification_id,
                                                                                self._sender)})

    async def _deliver(self, mail: Composed) -> str:
        """One mail transaction on a pooled connection; the server's answer to DATA. A reused
        connection the server had closed is replaced once."""
        options = ["SMTPUTF8"] if mail.utf8 else []
        for last_try in (False, True):
            try:
                lease = await self.pool.acquire(wait=self._pool_wait)
            except PoolBusy as exc:  # nothing was sent: not an attempt
                raise ChannelBusy(f"no SMTP connection came free: {exc}") from exc
            try:
                # The per-command timeout bounds each step; this bounds the whole conversation.
                async with asyncio.timeout(self._timeout * 3):
                    _refused, said = await lease.client.sendmail(mail.sender, [mail.recipient], mail.data,
                                                                 mail_options=options)
            except BaseException as exc:
                reused = lease.reused
                self.pool.release(lease, healthy=False)
                if last_try or not reused or not _stale(exc):
                    raise
                continue
            self.pool.release(lease, healthy=True)
            return said
        raise AssertionError("unreachable: the last try returns or raises")

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.pool.aclose()
