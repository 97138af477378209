"""Twilio's inbound webhooks: SMS replies (4 acknowledges, 6 resolves) and a page call's key
presses. Every request is signed in the test with Twilio's documented algorithm; an unsigned,
wrongly signed or unconfigured one is refused, a genuine one always gets TwiML."""

from __future__ import annotations

import base64
import hashlib
import hmac
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import Harness
from tests.engine.helpers import NOW, freeze, incident, log_entries, new_incident, new_user, token
from tocsin.ids import new_id
from tocsin.notifications.links import ACKNOWLEDGE, VOICE, VOICE_PATH
from tocsin.notifications.models import FAILED, INCIDENT, SENT, SMS, Notification

AUTH_TOKEN = "twilio-auth-token-for-tests"
PHONE = "+15555550100"
BASE = "http://tocsin.test"  # the harness's public URL


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"twilio_auth_token": AUTH_TOKEN}


def twilio_signature(url: str, params: list[tuple[str, str]], auth_token: str = AUTH_TOKEN) -> str:
    """Twilio's documented algorithm: URL + each param (sorted by name) as name + value, HMAC-SHA1, base64."""
    data = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


async def post_twilio(h: Harness, path: str, params: dict[str, str], *, signature: str | None = None,
                      signed_url: str | None = None) -> httpx.Response:
    pairs = list(params.items())
    sig = signature if signature is not None else twilio_signature(signed_url or BASE + path, pairs)
    return await h.client.post(path, content=urlencode(pairs), headers={
        "X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"})


def sms_params(body: str, phone: str = PHONE) -> dict[str, str]:
    return {"MessageSid": "SM" + "0" * 32, "AccountSid": "AC" + "1" * 32, "From": phone, "To": "+15555559999",
            "Body": body, "NumMedia": "0"}


def twiml(r: httpx.Response) -> tuple[str, str]:
    """(verb, text) of a one-verb TwiML answer."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.text)
    assert root.tag == "Response"
    [verb] = list(root)
    return verb.tag, "".join(verb.itertext())


async def sent_sms(h: Harness, incident_id: str, user_id: str, address: str = PHONE, *, at: datetime = NOW,
                   contact_method_id: str | None = None, status: str = SENT, channel: str = SMS,
                   bundle: str | None = None, nid: str | None = None) -> str:
    nid = nid or new_id()
    async with h.tocsin.db.transaction() as session:
        session.add(Notification(
            id=nid, key=f"inc:{incident_id}:{user_id}:{new_id()}", kind=INCIDENT, incident_id=incident_id,
            user_id=user_id, contact_method_id=contact_method_id, channel=channel, address=address, status=status,
            due_at=at, attempts=1, sent_at=at if status == SENT else None, created_at=at, updated_at=at,
            detail={"bundle": bundle} if bundle else None))
    return nid


async def test_4_acknowledges_the_latest_open_incident_sent_to_the_phone(harness: Harness) -> None:
    h = harness
    freeze(h)
    ada = await new_user(h, "Ada")
    older, newer = await new_incident(h, "Older"), await new_incident(h, "Newer")
    await sent_sms(h, older["id"], ada, at=NOW - timedelta(minutes=5))
    await sent_sms(h, newer["id"], ada, at=NOW - timedelta(minutes=1))
    verb, text = twiml(await post_twilio(h, "/twilio/sms", sms_params("4")))
    assert verb == "Message" and text == f"Incident #{newer['incident_number']} acknowledged: Newer"
    assert (await incident(h, newer["id"]))["status"] == "acknowledged"
    assert (await incident(h, older["id"]))["status"] == "triggered"
    [entry] = [e for e in await log_entries(h, newer["id"]) if e["type"] == "acknowledge_log_entry"]
    assert entry["agent"]["id"] == ada and entry["channel"]["type"] == "sms"
    # "6 <number>" picks the older one.
    verb, text = twiml(await post_twilio(h, "/twilio/sms", sms_params(f"6 {older['incident_number']}")))
    assert text == f"Incident #{older['incident_number']} resolved: Older"
    assert (await incident(h, older["id"]))["status"] == "resolved"
    # Now the newest open one is still the acknowledged one; resolved ones are skipped.
    twiml(await post_twilio(h, "/twilio/sms", sms_params("6")))
    assert (await incident(h, newer["id"]))["status"] == "resolved"
    verb, text = twiml(await post_twilio(h, "/twilio/sms", sms_params("4")))
    assert text == "No open incident was sent to this phone."
    verb, text = twiml(await post_twilio(h, "/twilio/sms", sms_params(f"4 {older['incident_number']}")))
    assert text == f"Incident #{older['incident_number']} is already resolved."


async def test_a_phone_stored_as_national_digits_matches_its_e164_sender(harness: Harness) -> None:
    h = harness
    freeze(h)
    ada = await new_user(h, "Ada")
    r = await h.client.post(f"/users/{ada}/contact_methods", headers=h.writer, json={"contact_method": {
        "type": "sms_contact_method", "label": "Mobile", "address": "5555550100", "country_code": 1}})
    assert r.status_code == 201, r.text
    method_id = r.json()["contact_method"]["id"]
    inc = await new_incident(h)
    await sent_sms(h, inc["id"], ada, "5555550100", contact_method_id=method_id)
    # Another country's same national digits does not match.
    _, text = twiml(await post_twilio(h, "/twilio/sms", sms_params("4", "+445555550100")))
    assert text == "No open incident was sent to this phone."
    _, text = twiml(await post_twilio(h, "/twilio/sms", sms_params("4")))
    assert text.startswith(f"Incident #{inc['incident_number']} acknowledged")


async def test_unknown_senders_other_incidents_and_other_words_get_an_explanation(harness: Harness) -> None:
    h = harness
    freeze(h)
    ada = await new_user(h, "Ada")
    mine, other = await new_incident(h, "Mine"), await new_incident(h, "Not sent to this phone")
    await sent_sms(h, mine["id"], ada)
    failed = await new_incident(h, "Failed send")
    await sent_sms(h, failed["id"], ada, at=NOW + timedelta(minutes=1), status=FAILED)
    _, text = twiml(await post_twilio(h, "/twilio/sms", sms_params("4", "+15555550199")))
    assert text == "No open incident was sent to this phone."
    _, text = twiml(await post_twilio(h, "/twilio/sms", sms_params(f"6 {other['incident_number']}")))
    assert text == f"Incident #{other['incident_number']} was not sent to this phone."
    for body in ("hello", "", "4 4 4", "5"):
        _, text = twiml(await post_twilio(h, "/twilio/sms", sms_params(body)))
        assert text.startswith("Reply 4 to acknowledge or 6 to resolve")
    for inc in (mine, other, failed):
        assert (await incident(h, inc["id"]))["status"] == "triggered"
    # The failed send never reached the phone: "4" means the incident that did.
    _, text = twiml(await post_twilio(h, "/twilio/sms", sms_params("4")))
    assert text.startswith(f"Incident #{mine['incident_number']} acknowledged")


async def test_unsigned_forged_and_unconfigured_requests_are_refused(harness: Harness) -> None:
    h = harness
    freeze(h)
    ada = await new_user(h, "Ada")
    inc = await new_incident(h)
    await sent_sms(h, inc["id"], ada)
    params = sms_params("6")
    pairs = list(params.items())
    refusals = [
        await post_twilio(h, "/twilio/sms", params, signature=""),
        await post_twilio(h, "/twilio/sms", params, signature=twilio_signature(BASE + "/twilio/sms", pairs, "wrong")),
        await post_twilio(h, "/twilio/sms", params, signed_url=BASE + "/twilio/sms?x=1"),
        await post_twilio(h, "/twilio/sms", params, signed_url="http://elsewhere.test/twilio/sms"),
        await h.client.post("/twilio/sms", content=urlencode(pairs),
                            headers={"Content-Type": "application/x-www-form-urlencoded"}),
    ]
    assert [r.status_code for r in refusals] == [403] * len(refusals)
    big = {**params, "Body": "6" + " " * 70_000}
    assert (await post_twilio(h, "/twilio/sms", big)).status_code == 413
    h.tocsin.runtime.settings.twilio_auth_token = SecretStr("")
    assert (await post_twilio(h, "/twilio/sms", params)).status_code == 403
    assert (await incident(h, inc["id"]))["status"] == "triggered"


async def voice_path(h: Harness, incident_id: str, user_id: str, action: str = VOICE, **kwargs: Any) -> str:
    return f"{VOICE_PATH}/{await token(h, incident_id, user_id, action, **kwargs)}"


def call_params(digits: str) -> dict[str, str]:
    return {"CallSid": "CA" + "2" * 32, "AccountSid": "AC" + "1" * 32, "From": "+15555559999", "To": PHONE,
            "Digits": digits, "CallStatus": "in-progress"}


async def test_key_presses_act_on_the_calls_incident(harness: Harness) -> None:
    h = harness
    freeze(h)
    ada = await new_user(h, "Ada")
    inc = await new_incident(h, "Queue backlog")
    path = await voice_path(h, inc["id"], ada)
    # A wrong key: asked again, the Gather posting back to the same URL.
    r = await post_twilio(h, path, call_params("9"))
    assert r.status_code == 200
    [gather] = list(ET.fromstring(r.text))
    assert gather.tag == "Gather" and gather.get("action") == BASE + path
    assert "Press 4 to acknowledge" in "".join(gather.itertext())
    verb, text = twiml(await post_twilio(h, path, call_params("4")))
    assert verb == "Say" and text.startswith(f"Incident #{inc['incident_number']} acknowledged")
    [entry] = [e for e in await log_entries(h, inc["id"]) if e["type"] == "acknowledge_log_entry"]
    assert entry["agent"]["id"] == ada and entry["channel"]["type"] == "phone"
    verb, text = twiml(await post_twilio(h, path, call_params("6")))
    assert text.startswith(f"Incident #{inc['incident_number']} resolved")
    assert (await incident(h, inc["id"]))["status"] == "resolved"
    _, text = twiml(await post_twilio(h, path, call_params("4")))
    assert text.startswith(f"Incident #{inc['incident_number']} is already resolved")


async def test_expired_and_non_voice_tokens_only_say_so(harness: Harness) -> None:
    h = harness
    clock = freeze(h)
    ada = await new_user(h, "Ada")
    inc = await new_incident(h)
    expiring = await voice_path(h, inc["id"], ada, expires_at=NOW + timedelta(minutes=1))
    link_token = await voice_path(h, inc["id"], ada, ACKNOWLEDGE)
    clock.advance(minutes=1)
    for path in (expiring, link_token, f"{VOICE_PATH}/garbage"):
        verb, text = twiml(await post_twilio(h, path, call_params("6")))
        assert verb == "Say" and "can no longer change the incident" in text
    bad = await post_twilio(h, link_token, call_params("6"), signed_url=BASE + expiring)
    assert bad.status_code == 403
    assert (await incident(h, inc["id"]))["status"] == "triggered"


async def test_a_reply_to_a_bundled_page_acts_on_each_of_its_open_incidents(harness: Harness) -> None:
    h = harness
    freeze(h)
    ada = await new_user(h, "Ada")
    earlier, one, two, three = [await new_incident(h, t) for t in ("Earlier", "One", "Two", "Three")]
    await sent_sms(h, earlier["id"], ada, at=NOW - timedelta(minutes=9))  # a page of its own, before
    lead = new_id()
    for inc in (one, two, three):  # one message named all three (notifications.bundles)
        await sent_sms(h, inc["id"], ada, at=NOW - timedelta(minutes=1), bundle=lead,
                       nid=lead if inc is one else None)
    twiml(await post_twilio(h, "/twilio/sms", sms_params(f"6 {three['incident_number']}")))  # one named: only it
    verb, text = twiml(await post_twilio(h, "/twilio/sms", sms_params("4")))
    numbers = f"#{one['incident_number']}, #{two['incident_number']}"
    assert verb == "Message" and text == f"2 incidents acknowledged: {numbers}"
    assert [(await incident(h, i["id"]))["status"] for i in (earlier, one, two, three)] == [
        "triggered", "acknowledged", "acknowledged", "resolved"]
    for inc in (one, two):
        [entry] = [e for e in await log_entries(h, inc["id"]) if e["type"] == "acknowledge_log_entry"]
        assert entry["agent"]["id"] == ada and entry["channel"]["type"] == "sms"


async def test_a_key_pressed_on_a_bundled_call_acts_on_each_of_its_open_incidents(harness: Harness) -> None:
    h = harness
    freeze(h)
    ada, bob = await new_user(h, "Ada"), await new_user(h, "Bob")
    one, two, other = [await new_incident(h, t) for t in ("One", "Two", "Bob's")]
    lead = await sent_sms(h, one["id"], ada, channel="phone", at=NOW - timedelta(minutes=1))
    async with h.tocsin.db.transaction() as session:  # the lead row names its own bundle too
        row = await session.get(Notification, lead)
        assert row is not None
        row.detail = {"bundle": lead}
    await sent_sms(h, two["id"], ada, channel="phone", at=NOW - timedelta(minutes=1), bundle=lead)
    await sent_sms(h, other["id"], bob, channel="phone", at=NOW - timedelta(minutes=1), bundle=lead)  # not Ada's
    path = f"{VOICE_PATH}/{await token(h, one['id'], ada, VOICE, bundle=lead)}"
    verb, text = twiml(await post_twilio(h, path, call_params("6")))
    assert verb == "Say" and text.startswith(f"2 incidents resolved: #{one['incident_number']}, "
                                             f"#{two['incident_number']}")
    assert [(await incident(h, i["id"]))["status"] for i in (one, two, other)] == ["resolved", "resolved", "triggered"]
