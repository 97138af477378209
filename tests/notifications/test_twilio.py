"""SMS and voice through a local HTTP server playing Twilio's REST API (real sockets), plus the
error mapping of every kind of answer through httpx's MockTransport."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import httpx
import pytest
from pydantic import SecretStr

from tests.notifications.servers import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN, TwilioDouble, free_port
from tocsin.notifications.channel import ChannelError, Message, NotConfigured
from tocsin.notifications.twilio import TwilioAccount, TwilioChannel, twiml


def account(url: str, *, token: str = TWILIO_TOKEN, transport: httpx.AsyncBaseTransport | None = None,
            timeout: float = 5.0) -> TwilioAccount:
    return TwilioAccount(api_url=url, account_sid=TWILIO_SID, auth_token=SecretStr(token), sender=TWILIO_FROM,
                         transport=transport, timeout=httpx.Timeout(timeout))


def text(channel: str = "sms", callback: str | None = None) -> Message:
    return Message(notification_id="PNOTE", channel=channel, address="+15551230000", subject="s",
                   text='[Tocsin] #12 high: Disk <full> & "hot" - Reply 4 ack, 6 resolve', voice_callback_url=callback)


async def test_an_sms_posts_to_messages_json_with_basic_auth(twilio_server: TwilioDouble) -> None:
    twilio = account(twilio_server.url)
    try:
        delivery = await TwilioChannel("sms", twilio).send(text())
    finally:
        await twilio.aclose()
    [request] = twilio_server.requests
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request.authorization == "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert request.form == {"To": "+15551230000", "From": TWILIO_FROM,
                            "Body": '[Tocsin] #12 high: Disk <full> & "hot" - Reply 4 ack, 6 resolve'}
    assert delivery.response == {"http_status": 201, "sid": "SM" + "1".zfill(32), "status": "queued"}


async def test_a_call_posts_twiml_that_gathers_one_digit(twilio_server: TwilioDouble) -> None:
    twilio = account(twilio_server.url)
    callback = "https://tocsin.example/notification_actions/abc.def?x=1&y=2"
    try:
        delivery = await TwilioChannel("phone", twilio).send(text("phone", callback))
    finally:
        await twilio.aclose()
    [request] = twilio_server.requests
    assert request.path.endswith("/Calls.json") and request.form["To"] == "+15551230000"
    script = ET.fromstring(request.form["Twiml"])  # well-formed XML despite <, &, " in the text
    gather = script.find("Gather")
    assert gather is not None
    assert gather.attrib == {"numDigits": "1", "timeout": "10", "action": callback, "method": "POST"}
    said = gather.find("Say")
    assert said is not None and said.text == '[Tocsin] #12 high: Disk <full> & "hot" - Reply 4 ack, 6 resolve'
    assert delivery.response["sid"].startswith("CA") and delivery.response["status"] == "queued"


def test_twiml_without_a_callback_only_speaks() -> None:
    script = ET.fromstring(twiml("Your shift starts at 09:00 & ends at 17:00.", None))
    assert [child.tag for child in script] == ["Say"]
    assert script[0].text == "Your shift starts at 09:00 & ends at 17:00."


async def test_a_500_is_transient_then_the_retry_goes_through(twilio_server: TwilioDouble) -> None:
    twilio_server.failures.append((500, {"code": 20500, "message": "Internal Server Error", "status": 500}))
    twilio = account(twilio_server.url)
    sms = TwilioChannel("sms", twilio)
    try:
        with pytest.raises(ChannelError) as caught:
            await sms.send(text())
        delivery = await sms.send(text())
    finally:
        await twilio.aclose()
    assert caught.value.transient
    assert caught.value.response == {"http_status": 500, "code": 20500, "message": "Internal Server Error"}
    assert delivery.response["status"] == "queued" and len(twilio_server.requests) == 2


async def test_a_400_is_permanent_and_keeps_twilios_error(twilio_server: TwilioDouble) -> None:
    twilio_server.failures.append((400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                         "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}))
    twilio = account(twilio_server.url)
    try:
        with pytest.raises(ChannelError) as caught:
            await TwilioChannel("sms", twilio).send(text())
    finally:
        await twilio.aclose()
    assert not caught.value.transient
    assert caught.value.response["code"] == 21211 and caught.value.response["http_status"] == 400
    assert "21211" in str(caught.value)


async def test_wrong_credentials_are_permanent(twilio_server: TwilioDouble) -> None:
    twilio = account(twilio_server.url, token="wrong")
    try:
        with pytest.raises(ChannelError) as caught:
            await TwilioChannel("sms", twilio).send(text())
    finally:
        await twilio.aclose()
    assert not caught.value.transient and caught.value.response["code"] == 20003


async def test_a_slow_provider_times_out_as_transient(twilio_server: TwilioDouble) -> None:
    twilio_server.delay = 1.0
    twilio = account(twilio_server.url, timeout=0.2)
    try:
        with pytest.raises(ChannelError) as caught:
            await TwilioChannel("sms", twilio).send(text())
    finally:
        await twilio.aclose()
    assert caught.value.transient and "in time" in str(caught.value)


async def test_an_unreachable_provider_is_transient() -> None:
    twilio = account(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(ChannelError) as caught:
            await TwilioChannel("sms", twilio).send(text())
    finally:
        await twilio.aclose()
    assert caught.value.transient and "unreachable" in str(caught.value)


@pytest.mark.parametrize(("status", "transient"), [
    (429, True), (500, True), (502, True), (503, True), (400, False), (401, False), (403, False), (404, False),
    (302, False),
])
async def test_status_codes_map_to_transient_or_permanent(status: int, transient: bool) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"code": 99999, "message": "nope"})

    twilio = account("https://api.twilio.test", transport=httpx.MockTransport(answer))
    with pytest.raises(ChannelError) as caught:
        await TwilioChannel("sms", twilio).send(text())
    await twilio.aclose()
    assert caught.value.transient is transient
    assert caught.value.response["http_status"] == status


async def test_a_non_json_error_body_is_still_reported() -> None:
    twilio = account("https://api.twilio.test",
                     transport=httpx.MockTransport(lambda r: httpx.Response(503, text="<html>busy</html>")))
    with pytest.raises(ChannelError) as caught:
        await TwilioChannel("sms", twilio).send(text())
    await twilio.aclose()
    assert caught.value.transient and caught.value.response == {"http_status": 503}


async def test_missing_settings_are_named() -> None:
    unset = TwilioAccount(api_url="https://api.twilio.com", account_sid="", auth_token=None, sender="")
    sms = TwilioChannel("sms", unset)
    assert not sms.configured
    with pytest.raises(NotConfigured) as caught:
        await sms.send(text())
    message = str(caught.value)
    assert "TOCSIN_TWILIO_ACCOUNT_SID" in message and "TOCSIN_TWILIO_AUTH_TOKEN" in message
    assert "TOCSIN_TWILIO_FROM" in message and not caught.value.transient


def test_only_sms_and_phone_ride_on_twilio() -> None:
    with pytest.raises(ValueError, match="email"):
        TwilioChannel("email", account("https://api.twilio.test"))
