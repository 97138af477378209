"""SMS replies and key presses (4 acknowledges, 6 resolves) and the TwiML answers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.notifications.inbound import SmsCommand, clipped, digit_action, parse_sms, twiml_message, twiml_say
from tocsin.notifications.links import ACKNOWLEDGE, RESOLVE


@pytest.mark.parametrize(("body", "expected"), [
    ("4", SmsCommand(ACKNOWLEDGE, None)),
    (" 6 ", SmsCommand(RESOLVE, None)),
    ("4 123", SmsCommand(ACKNOWLEDGE, 123)),
    ("6 #77", SmsCommand(RESOLVE, 77)),
    ("6\n12.", SmsCommand(RESOLVE, 12)),
    ("4!", SmsCommand(ACKNOWLEDGE, None)),
])
def test_replies_that_are_commands(body: str, expected: SmsCommand) -> None:
    assert parse_sms(body) == expected


@pytest.mark.parametrize("body", ["", "5", "44", "ack", "4 abc", "4 1 2", "46", "4 -1", "4 1234567890", "#4"])
def test_replies_that_are_not(body: str) -> None:
    assert parse_sms(body) is None


def test_key_presses() -> None:
    assert digit_action("4") == ACKNOWLEDGE
    assert digit_action("6") == RESOLVE
    assert digit_action("64") == RESOLVE  # only the first key counts
    assert digit_action("") is None
    assert digit_action("#") is None
    assert digit_action("5") is None


def test_twiml_escapes_and_parses() -> None:
    title = 'DB <primary> & "replica" down\x00\x07'
    root = ET.fromstring(twiml_message(f"Incident #1 acknowledged: {title}"))
    assert root.tag == "Response"
    [message] = list(root)
    assert message.tag == "Message"
    assert message.text == 'Incident #1 acknowledged: DB <primary> & "replica" down'  # control chars dropped


def test_a_say_can_gather_again() -> None:
    url = 'https://tocsin.example/twilio/voice/a.b?x="y"&z=1'
    root = ET.fromstring(twiml_say("Press 4", gather_url=url))
    [gather] = list(root)
    assert gather.tag == "Gather" and gather.get("action") == url and gather.get("numDigits") == "1"
    assert gather.get("method") == "POST"
    [say] = list(gather)
    assert say.tag == "Say" and say.text == "Press 4"
    assert [child.tag for child in ET.fromstring(twiml_say("Bye"))] == ["Say"]


def test_clipped() -> None:
    assert clipped("short") == "short"
    assert clipped("x" * 100, 10) == "x" * 9 + "…"


@given(st.text(max_size=200))
def test_any_text_parses_or_not_without_raising_and_twiml_stays_well_formed(text: str) -> None:
    parsed = parse_sms(text)
    assert parsed is None or parsed.action in (ACKNOWLEDGE, RESOLVE)
    [message] = list(ET.fromstring(twiml_message(text)))
    assert message.tag == "Message"
