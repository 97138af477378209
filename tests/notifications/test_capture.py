"""Captured channels: what the test double and ``tocsin dev`` send through instead of providers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tocsin.config import Settings
from tocsin.notifications.capture import CapturedChannels, Outbox, channels_from_settings
from tocsin.notifications.channel import Message, NotConfigured
from tocsin.notifications.channels import Channels

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


def message(channel: str, n: int = 1) -> Message:
    return Message(notification_id=f"N{n}", channel=channel, address=f"to-{n}", subject=f"subject {n}",
                   text=f"text {n}", actions={"acknowledge": "https://tocsin.test/a"})


async def test_email_sms_and_calls_are_recorded_in_order_never_sent() -> None:
    channels = CapturedChannels(lambda: NOW)
    for n, name in enumerate(("email", "sms", "phone"), start=1):
        delivery = await channels.for_channel(name).send(message(name, n))
        assert delivery.response == {"captured": True}
    assert [(m.channel, m.address, m.subject, m.captured_at) for m in channels.outbox.messages()] == [
        ("email", "to-1", "subject 1", NOW), ("sms", "to-2", "subject 2", NOW), ("phone", "to-3", "subject 3", NOW)]
    assert channels.outbox.messages()[0].actions == {"acknowledge": "https://tocsin.test/a"}
    assert channels.live() == ["email", "sms", "phone"]


async def test_push_and_unknown_channels_still_fail_as_they_would() -> None:
    channels = CapturedChannels(lambda: NOW)
    for name in ("push", "carrier-pigeon"):
        with pytest.raises(NotConfigured):
            await channels.for_channel(name).send(message(name))
    assert channels.outbox.messages() == []


def test_the_outbox_keeps_its_latest_messages_within_its_limit() -> None:
    outbox = Outbox(limit=2)
    channels = CapturedChannels(lambda: NOW, outbox)
    assert channels.outbox is outbox
    for n in range(1, 4):
        asyncio.run(channels.for_channel("sms").send(message("sms", n)))
    assert [m.notification_id for m in outbox.messages()] == ["N2", "N3"] and outbox.dropped == 1
    outbox.clear()
    assert outbox.messages() == []


def test_the_setting_chooses_captured_or_real_channels() -> None:
    assert isinstance(channels_from_settings(Settings(capture_notifications=True), lambda: NOW), CapturedChannels)
    assert isinstance(channels_from_settings(Settings(), lambda: NOW), Channels)
