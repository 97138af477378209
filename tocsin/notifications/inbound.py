"""What a person answers to a page by SMS or by phone, and the TwiML Tocsin answers with. Pure.

PagerDuty's convention: reply (or press) 4 to acknowledge, 6 to resolve. An SMS may name the
incident ("4 123" or "4 #123"); without a number it means the latest incident sent to that phone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

from tocsin.notifications.links import ACKNOWLEDGE, RESOLVE

SMS_PATH = "/twilio/sms"  # where Twilio posts SMS replies ({base_url}/twilio/sms, set on the Twilio number)
DIGITS = {"4": ACKNOWLEDGE, "6": RESOLVE}
SMS_HELP = ('Reply 4 to acknowledge or 6 to resolve the latest incident sent to this phone; add the '
            'incident number to pick one, e.g. "4 123".')
VOICE_HELP = "Press 4 to acknowledge, or 6 to resolve."
_SMS_REPLY = re.compile(r"\s*([46])(?:\s+#?(\d{1,9}))?\s*[.!]?\s*")
# Characters XML 1.0 cannot carry at all (an incident title may hold them): dropped from replies.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class SmsCommand:
    action: str  # links.ACKNOWLEDGE | links.RESOLVE
    incident_number: int | None  # None: the latest incident sent to the phone


def parse_sms(body: str) -> SmsCommand | None:
    """The command an SMS reply gives; None when it is not one (then the help is sent back)."""
    found = _SMS_REPLY.fullmatch(body)
    if found is None:
        return None
    number = int(found.group(2)) if found.group(2) else None
    return SmsCommand(DIGITS[found.group(1)], number)


def digit_action(digits: str) -> str | None:
    """The action a key press asks for (only the first key counts); None for any other key."""
    return DIGITS.get(digits.strip()[:1])


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def _attribute(value: str) -> str:
    return escape(_NOT_XML.sub("", value), {'"': "&quot;"})


_XML = '<?xml version="1.0" encoding="UTF-8"?>'


def twiml_message(text: str) -> str:
    """An SMS reply: ``<Response><Message>text</Message></Response>``."""
    return f"{_XML}<Response><Message>{_text(text)}</Message></Response>"


def twiml_say(text: str, *, gather_url: str | None = None) -> str:
    """Spoken words; with ``gather_url``, inside a one-key Gather that posts the key pressed
    there (so a wrong key can be pressed again)."""
    say = f"<Say>{_text(text)}</Say>"
    if gather_url is None:
        return f"{_XML}<Response>{say}</Response>"
    return (f'{_XML}<Response><Gather numDigits="1" method="POST" action="{_attribute(gather_url)}">{say}'
            f"</Gather></Response>")


def clipped(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut): a title in an SMS."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
