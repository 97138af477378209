"""Channels that record messages instead of sending them: Tocsin as a test double and ``tocsin dev``.

Chosen by ``channels_from_settings`` (what the composition root calls) when
``TOCSIN_CAPTURE_NOTIFICATIONS`` is on (never in production). Everything else is the real path:
the notify step claims the rows, renders the messages (signed links and all), marks them SENT and
writes the ``notify_log_entry``; only the provider call is replaced by an append to the
``Outbox``, so a test sees exactly what a person would have received. Push stays unsupported, as
it is without the mobile app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tocsin.config import Settings
from tocsin.notifications.channel import Channel, ChannelSet, Delivery, Message
from tocsin.notifications.channels import Channels, UnsupportedChannel
from tocsin.notifications.models import EMAIL, PHONE, PUSH, SMS

# What one outbox keeps at most (a long ``tocsin dev`` session must not grow without bound).
OUTBOX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class CapturedMessage:
    """A message a channel would have sent, and when (by Tocsin's clock)."""

    notification_id: str
    channel: str  # email | sms | phone
    address: str
    subject: str
    text: str
    captured_at: datetime
    actions: dict[str, str] = field(default_factory=dict)


class Outbox:
    """The captured messages in the order they were "sent". Appended to on the server's event
    loop and read from a test's thread, hence the lock."""

    def __init__(self, limit: int = OUTBOX_LIMIT) -> None:
        self._lock = threading.Lock()
        self._messages: list[CapturedMessage] = []
        self._limit = limit
        self.dropped = 0  # the oldest messages let go once the limit was reached

    def append(self, message: CapturedMessage) -> None:
        with self._lock:
            self._messages.append(message)
            if len(self._messages) > self._limit:
                del self._messages[0]
                self.dropped += 1

    def messages(self) -> list[CapturedMessage]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


class CaptureChannel:
    """A channel that accepts every message and records it in the outbox."""

    def __init__(self, name: str, outbox: Outbox, now: Callable[[], datetime]) -> None:
        self.name, self._outbox, self._now = name, outbox, now

    @property
    def configured(self) -> bool:
        return True

    async def send(self, message: Message) -> Delivery:
        self._outbox.append(CapturedMessage(
            notification_id=message.notification_id, channel=message.channel, address=message.address,
            subject=message.subject, text=message.text, captured_at=self._now(), actions=dict(message.actions)))
        return Delivery({"captured": True})


class CapturedChannels:
    """The channel set of a test double: email, SMS and voice recorded in ``outbox``."""

    def __init__(self, now: Callable[[], datetime], outbox: Outbox | None = None) -> None:
        self.outbox = outbox or Outbox()
        self._channels: dict[str, Channel] = {
            name: CaptureChannel(name, self.outbox, now) for name in (EMAIL, SMS, PHONE)}
        self._channels[PUSH] = UnsupportedChannel(PUSH, "push notifications need the mobile app")

    def for_channel(self, name: str) -> Channel:
        return self._channels.get(name) or UnsupportedChannel(name, f"no channel named {name!r}")

    def live(self) -> list[str]:
        return [name for name, channel in self._channels.items() if channel.configured]

    async def aclose(self) -> None:
        """Nothing is held open."""


def channels_from_settings(settings: Settings, now: Callable[[], datetime]) -> ChannelSet:
    """The process's channels: captured when ``capture_notifications`` is on, else the real ones."""
    if settings.capture_notifications:
        return CapturedChannels(now)
    return Channels.from_settings(settings, now)
