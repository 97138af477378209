"""The one small interface every channel (email, SMS, voice) implements, and what a send returns.

A channel turns a rendered ``Message`` into one provider call. It never touches the database:
the notify step owns the row, the retries and the log entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Message:
    """What to send and to whom; ``actions`` maps "acknowledge"/"resolve" to signed link URLs."""

    notification_id: str
    channel: str  # notifications.models.EMAIL | SMS | PHONE
    address: str
    subject: str
    text: str
    html: str | None = None
    actions: dict[str, str] = field(default_factory=dict)
    # Voice: where the provider posts the key pressed (signed, bound to incident and user).
    voice_callback_url: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """The provider accepted the message; ``response`` is what it said (kept on the row)."""

    response: dict[str, Any]


class ChannelError(Exception):
    """The provider refused or could not be reached. ``transient`` errors are retried with
    backoff (timeouts, connection failures, 429, 5xx, SMTP 4xx); others fail the send at once."""

    def __init__(self, message: str, *, transient: bool, response: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.response = response or {}


class ChannelBusy(ChannelError):
    """Every connection to the provider stayed in use while this send waited: nothing was sent,
    so it is no attempt (the notification stays due and is sent on a later run)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


class NotConfigured(ChannelError):
    """The channel has no provider settings: recorded as failed with this reason, never skipped."""

    def __init__(self, channel: str, missing: str) -> None:
        super().__init__(f"{channel} is not configured (set {missing})", transient=False)


class Channel(Protocol):
    name: str  # EMAIL | SMS | PHONE

    @property
    def configured(self) -> bool: ...

    async def send(self, message: Message) -> Delivery:
        """Deliver or raise ``ChannelError``."""
        ...


class ChannelSet(Protocol):
    """Every channel the notify step sends through, built once by the composition root: the real
    transports (``channels.Channels``) or, for tests and ``tocsin dev``, ones that only record
    (``capture.CapturedChannels``)."""

    def for_channel(self, name: str) -> Channel:
        """The channel a notification row names; an unknown name gets one that always refuses."""
        ...

    def live(self) -> list[str]:
        """The names of the channels that can send, for the start banner."""
        ...

    async def aclose(self) -> None:
        """Release what the channels hold open (connection pools)."""
        ...
