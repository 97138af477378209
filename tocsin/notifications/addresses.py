"""Which channel a contact method goes through, and the address a send uses. Pure.

A phone or SMS contact method stores its national digits and a country code apart (PagerDuty's
shape); a send and an inbound reply (Twilio's ``From``) use E.164, ``+<country><digits>``.
The channel names equal ``notifications.models``' EMAIL/SMS/PHONE/PUSH (a test holds them equal;
models is not imported here because it brings the database layer).
"""

from __future__ import annotations

CHANNELS = {
    "email_contact_method": "email",
    "sms_contact_method": "sms",
    "phone_contact_method": "phone",
    "push_notification_contact_method": "push",
}
# PagerDuty's Notification.type for each channel.
NOTIFICATION_TYPES = {channel: f"{channel}_notification" for channel in CHANNELS.values()}


def channel_of(contact_method_type: str) -> str | None:
    """The channel of a contact method type; None for a type Tocsin cannot send to."""
    return CHANNELS.get(contact_method_type)


def send_address(contact_method_type: str, address: str, country_code: int | None) -> str:
    """Where a send goes: E.164 for phones (``+`` country code digits), the address otherwise."""
    if CHANNELS.get(contact_method_type) in ("sms", "phone") and country_code is not None:
        return f"+{country_code}{address}"
    return address


def same_phone(e164: str, stored_address: str, country_code: int | None) -> bool:
    """Is ``e164`` (as Twilio reports a sender) the phone stored as ``stored_address``, which is
    either already E.164 or national digits with ``country_code``?"""
    if stored_address.startswith("+"):
        return stored_address == e164
    return country_code is not None and f"+{country_code}{stored_address}" == e164


def stored_forms(e164: str) -> list[str]:
    """Every form a row may store the phone ``e164`` in: itself and its national digits for each
    possible country code length (1 to 3 digits); ``same_phone`` then confirms one."""
    if not e164.startswith("+") or not e164[1:].isdigit():
        return [e164]
    digits = e164[1:]
    return [e164, *(digits[n:] for n in (1, 2, 3) if len(digits) > n)]
