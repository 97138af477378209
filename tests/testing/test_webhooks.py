"""The webhook recorder: signatures checked on receipt, deliveries saved and replayed byte for byte.

Signed bodies are posted to the recorder over real HTTP, as a sender would post them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.testing.webhooks import Delivery, WebhookRecorder, load, replay, sign, verify

SECRET = "whsec-test-1234"
EVENT: dict[str, Any] = {"event": {"id": "01ABC", "event_type": "incident.triggered", "resource_type": "incident",
                   "occurred_at": "2030-01-07T08:00:00Z", "data": {"id": "PINC1", "title": "Disk full"}}}
Recorders = Callable[..., WebhookRecorder]


def body_of(event: dict[str, Any]) -> bytes:
    # Deliberately not the canonical json.dumps form: the signature covers these exact bytes.
    return json.dumps(event, separators=(", ", ":   ")).encode()


def post(url: str, body: bytes, signature: str | None, **headers: str) -> httpx.Response:
    sent = {"content-type": "application/json", "user-agent": "PagerDuty-Webhook/V3.0", **headers}
    if signature is not None:
        sent["X-PagerDuty-Signature"] = signature
    return httpx.post(url, content=body, headers=sent)


# --- signatures (pure) -------------------------------------------------------------------------

def test_a_signature_is_v1_hex_hmac_sha256_of_the_raw_body() -> None:
    body = body_of(EVENT)
    assert sign(body, SECRET) == "v1=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert verify(body, sign(body, SECRET), SECRET)


def test_verification_refuses_what_the_secret_did_not_sign() -> None:
    body = body_of(EVENT)
    good = sign(body, SECRET)
    assert not verify(body + b" ", good, SECRET)  # one byte more
    assert not verify(body, good, "another-secret")
    assert not verify(body, None, SECRET) and not verify(body, "", SECRET)
    assert not verify(body, good.replace("v1=", "v0="), SECRET)
    assert not verify(body, good.upper(), SECRET)
    assert not verify(body, "v1=ünïcode", SECRET)


def test_any_of_the_signatures_of_a_rotation_verifies() -> None:
    body = body_of(EVENT)
    rotating = f"{sign(body, 'old-secret')}, {sign(body, SECRET)}"
    assert verify(body, rotating, SECRET) and verify(body, rotating, "old-secret")
    assert not verify(body, rotating, "third")


@given(body=st.binary(max_size=512), secret=st.text(min_size=1, max_size=40), other=st.binary(max_size=512))
def test_a_signature_verifies_its_body_and_no_other(body: bytes, secret: str, other: bytes) -> None:
    assert verify(body, sign(body, secret), secret)
    assert verify(other, sign(body, secret), secret) == (other == body)


# --- the recorder over HTTP ------------------------------------------------------------------

def test_a_signed_delivery_is_recorded_verified_and_answered_200(pagerduty_webhook_recorder: Recorders) -> None:
    recorder = pagerduty_webhook_recorder(secret=SECRET)
    body = body_of(EVENT)
    r = post(recorder.url + "hooks/pd", body, sign(body, SECRET), **{"X-Webhook-Id": "wh-1"})
    assert r.status_code == 200
    [delivery] = recorder.wait(1)
    assert (delivery.verified, delivery.path, delivery.body) == (True, "/hooks/pd", body)
    assert delivery.event_type == "incident.triggered"
    assert delivery.headers["x-webhook-id"] == "wh-1"


def test_a_bad_signature_is_recorded_unverified_and_refused_401(pagerduty_webhook_recorder: Recorders) -> None:
    recorder = pagerduty_webhook_recorder(secret=SECRET)
    body = body_of(EVENT)
    assert post(recorder.url, body, sign(body, "not-the-secret")).status_code == 401
    assert post(recorder.url, body, None).status_code == 401
    assert [d.verified for d in recorder.wait(2)] == [False, False]
    lenient = pagerduty_webhook_recorder(secret=SECRET, reject_unverified=False, status=500)
    assert post(lenient.url, body, "v1=00").status_code == 500  # a sender's retry path, on demand
    assert [d.verified for d in lenient.wait(1)] == [False]


def test_without_a_secret_nothing_is_judged(pagerduty_webhook_recorder: Recorders) -> None:
    recorder = pagerduty_webhook_recorder()
    assert post(recorder.url, b"{}", None).status_code == 200
    assert [d.verified for d in recorder.wait(1)] == [None]


def test_waiting_for_more_than_arrived_times_out(pagerduty_webhook_recorder: Recorders) -> None:
    recorder = pagerduty_webhook_recorder(secret=SECRET)
    with pytest.raises(TimeoutError, match="0 of 1"):
        recorder.wait(1, timeout=0.1)


async def test_async_tests_wait_without_blocking_their_loop(pagerduty_webhook_recorder: Recorders) -> None:
    recorder = pagerduty_webhook_recorder(secret=SECRET)
    body = body_of(EVENT)
    async with httpx.AsyncClient() as client:
        r = await client.post(recorder.url, content=body, headers={"X-PagerDuty-Signature": sign(body, SECRET)})
    assert r.status_code == 200
    assert [d.verified for d in await recorder.wait_async(1)] == [True]


# --- save and replay ---------------------------------------------------------------------------

def test_saved_deliveries_replay_byte_for_byte_into_a_handler(
        pagerduty_webhook_recorder: Recorders, tmp_path: Path) -> None:
    recorder = pagerduty_webhook_recorder(secret=SECRET)
    bodies = [body_of(EVENT), body_of({"event": {**EVENT["event"], "event_type": "incident.resolved"}})]
    for body in bodies:
        post(recorder.url, body, sign(body, SECRET))
    post(recorder.url, b'{"forged": true}', "v1=0000")
    recorder.wait(3)
    saved = recorder.save(tmp_path / "fixtures" / "deliveries.json", verified_only=True)

    # What a receiver's test does, with no server and no sender.
    def handler(delivery: Delivery) -> str:
        assert delivery.verify(SECRET), "the receiver refuses it"
        return str(delivery.event_type)

    assert replay(saved, handler) == ["incident.triggered", "incident.resolved"]
    assert [d.body for d in load(saved)] == bodies
    assert json.loads(saved.read_text())["format"] == "tocsin-webhook-recording/1"


def test_a_replay_to_a_url_posts_the_same_bytes_and_headers(
        pagerduty_webhook_recorder: Recorders, tmp_path: Path) -> None:
    first = pagerduty_webhook_recorder(secret=SECRET)
    body = body_of(EVENT)
    post(first.url, body, sign(body, SECRET), **{"X-Webhook-Id": "wh-7"})
    first.wait(1)
    path = first.save(tmp_path / "one.json")
    receiver = pagerduty_webhook_recorder(secret=SECRET)
    [answer] = replay(path, receiver.url)
    assert answer.status_code == 200
    [again] = receiver.wait(1)
    assert (again.verified, again.body, again.headers["x-webhook-id"]) == (True, body, "wh-7")


def test_a_body_that_is_not_utf8_survives_the_file(pagerduty_webhook_recorder: Recorders, tmp_path: Path) -> None:
    recorder = pagerduty_webhook_recorder(secret=SECRET)
    body = b"\xff\xfe binary \x00"
    post(recorder.url, body, sign(body, SECRET))
    recorder.wait(1)
    [back] = load(recorder.save(tmp_path / "raw.json"))
    assert back.body == body and back.verify(SECRET)


def test_a_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"deliveries": []}')
    with pytest.raises(ValueError, match="not a webhook recording"):
        load(path)
