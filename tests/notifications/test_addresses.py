"""Channels of contact method types and phone addresses in E.164."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tocsin.notifications import models
from tocsin.notifications.addresses import (
    CHANNELS,
    NOTIFICATION_TYPES,
    channel_of,
    same_phone,
    send_address,
    stored_forms,
)


def test_channel_names_are_the_models_names() -> None:
    assert set(CHANNELS.values()) == {models.EMAIL, models.SMS, models.PHONE, models.PUSH}
    assert NOTIFICATION_TYPES[models.SMS] == "sms_notification"
    assert channel_of("sms_contact_method") == models.SMS
    assert channel_of("carrier_pigeon") is None


def test_phones_are_sent_to_in_e164_and_emails_as_they_are() -> None:
    assert send_address("sms_contact_method", "5555551234", 1) == "+15555551234"
    assert send_address("phone_contact_method", "2071234567", 44) == "+442071234567"
    assert send_address("email_contact_method", "a@example.com", None) == "a@example.com"


def test_same_phone_in_either_stored_form() -> None:
    assert same_phone("+15555551234", "+15555551234", None)
    assert same_phone("+15555551234", "5555551234", 1)
    assert not same_phone("+15555551234", "5555551234", 44)
    assert not same_phone("+15555551234", "5555551234", None)
    assert not same_phone("+15555551234", "+15555551235", 1)


@given(st.integers(1, 999), st.text("0123456789", min_size=4, max_size=15))
def test_a_stored_phone_is_among_the_forms_of_its_e164(country: int, digits: str) -> None:
    e164 = send_address("sms_contact_method", digits, country)
    assert e164 in stored_forms(e164)
    assert digits in stored_forms(e164)
    assert same_phone(e164, digits, country)
    assert stored_forms("not a phone") == ["not a phone"]
