"""Every channel, built once from the settings: what the notify step sends through.

A channel without settings is still here: its sends fail with ``NotConfigured`` (the reason is
recorded on the notification), and ``live()`` says which channels work, for the start banner.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from tocsin.config import Settings
from tocsin.notifications.channel import Channel, ChannelError, Delivery, Message, NotConfigured
from tocsin.notifications.email import EmailChannel
from tocsin.notifications.models import EMAIL, PHONE, PUSH, SMS
from tocsin.notifications.twilio import TwilioAccount, TwilioChannel


class Unsupported(NotConfigured):
    """A channel Tocsin cannot carry at all (push needs a mobile app); fails like NotConfigured."""

    def __init__(self, reason: str) -> None:
        ChannelError.__init__(self, reason, transient=False)


class UnsupportedChannel:
    """Stands in for a channel with no transport: every send fails with ``reason``."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason

    @property
    def configured(self) -> bool:
        return False

    async def send(self, message: Message) -> Delivery:
        raise Unsupported(self.reason)


@dataclass
class Channels:
    email: EmailChannel
    sms: TwilioChannel
    phone: TwilioChannel
    push: UnsupportedChannel

    @classmethod
    def from_settings(
        cls, settings: Settings, now: Callable[[], datetime], *,
        twilio_transport: httpx.AsyncBaseTransport | None = None, tls_context: ssl.SSLContext | None = None,
    ) -> Channels:
        """``twilio_transport``: for tests that answer Twilio's calls in-process; ``tls_context``:
        the SMTP connection's (a private CA, or a test server's certificate)."""
        email = EmailChannel(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.email_from, now=now,
            username=settings.smtp_username, password=settings.smtp_password, security=settings.smtp_security,
            helo_name=urlsplit(settings.base_url).hostname, tls_context=tls_context,
        )
        twilio = TwilioAccount(
            api_url=settings.twilio_api_url, account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token, sender=settings.twilio_from, transport=twilio_transport,
        )
        return cls(email=email, sms=TwilioChannel(SMS, twilio), phone=TwilioChannel(PHONE, twilio),
                   push=UnsupportedChannel(PUSH, "push notifications need the mobile app"))

    def for_channel(self, name: str) -> Channel:
        """The channel a notification row names; an unknown name gets one that always refuses."""
        known: dict[str, Channel] = {EMAIL: self.email, SMS: self.sms, PHONE: self.phone, PUSH: self.push}
        return known.get(name) or UnsupportedChannel(name, f"no channel named {name!r}")

    def live(self) -> list[str]:
        """The names of the channels that can send (configured), in a fixed order."""
        return [c.name for c in (self.email, self.sms, self.phone, self.push) if c.configured]

    async def aclose(self) -> None:
        """Close the connection pools (the Twilio client, the SMTP connections)."""
        await self.sms.account.aclose()
        await self.email.aclose()
