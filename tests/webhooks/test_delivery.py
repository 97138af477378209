"""Deliveries against a real receiver: every event type signed (checked in constant time with the
secret), PagerDuty's headers and envelope, order per incident kept while another receiver is down,
a hanging receiver holding up nobody else, 4xx dropped, redirects not followed, rotation's two
signatures, and every attempt readable through the API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Harness
from tests.engine.helpers import start_clock
from tests.webhooks.helpers import ALL_INCIDENT_EVENTS, deliver, deliveries, subscribe, webhook_step
from tests.webhooks.receiver import Receiver, running_receiver, signed_by
from tests.webhooks.scenario import every_change
from tocsin.webhooks.models import DELIVERED, FAILED, PENDING
from tocsin.webhooks.signature import verify

T0 = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
ENVELOPE = {"id", "event_type", "resource_type", "occurred_at", "agent", "client", "data"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found


async def test_every_event_arrives_signed_with_pagerduty_headers(harness: Harness, receiver: Receiver) -> None:
    h = harness
    events = [*ALL_INCIDENT_EVENTS, "service.created", "service.updated"]
    sub = await subscribe(h, receiver.url("/hook"), events=events,
                          headers=[{"name": "X-Api-Key", "value": "hunter2"}])
    secret = sub["delivery_method"]["secret"]
    receiver.secrets["/hook"] = secret
    assert (await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer)).status_code == 202
    story = await every_change(h)
    await deliver(h)
    got = receiver.at("/hook")
    kinds = [r.event["event_type"] for r in got]
    # Each incident's events arrive in order; other streams (the ping, the service) go beside them.
    assert [k for k in kinds if k.startswith("incident.")] == [kind for kind, _ in story.expected]
    assert sorted(k for k in kinds if not k.startswith("incident.")) == ["pagey.ping", "service.created"]
    assert set(kinds) == {*events, "pagey.ping"} - {"service.updated"}
    rows = {d.id: d for d, _ in await deliveries(h, sub["id"])}
    assert all(d.status == DELIVERED and d.attempts == 1 for d in rows.values())
    for r in got:
        assert r.verified is True, r.event["event_type"]
        assert verify(r.body, r.headers["x-pagerduty-signature"], [secret])  # Tocsin's own helper agrees
        assert not verify(r.body + b" ", r.headers["x-pagerduty-signature"], [secret])
        assert r.headers["content-type"] == "application/json"
        assert r.headers["user-agent"] == "PagerDuty-Webhook/V3.0"
        assert r.headers["x-webhook-subscription"] == sub["id"]
        assert r.headers["x-webhook-id"] in rows
        assert r.headers["x-api-key"] == "hunter2"  # redacted when read, sent as it is
        assert set(r.event) == ENVELOPE
    [ping] = [r.event for r in got if r.event["event_type"] == "pagey.ping"]
    assert ping["resource_type"] == "pagey" and ping["data"] == {"message": "Hello from your friend Pagey!",
                                                                 "type": "ping"}
    assert ping["agent"] is None and ping["client"] is None


async def test_order_per_incident_is_kept_while_another_receiver_is_down(harness: Harness,
                                                                         receiver: Receiver) -> None:
    h = harness
    clock = start_clock(h, T0)
    up = await subscribe(h, receiver.url("/up"))
    down = await subscribe(h, receiver.url("/down"))
    receiver.answer("/down", *([503] * 4))
    story = await every_change(h)
    await deliver(h)
    expected = [kind for kind, _ in story.expected]
    assert [r.event["event_type"] for r in receiver.at("/up")] == expected
    # The down receiver saw only the first event: the rest of that incident waits behind it.
    assert [r.event["event_type"] for r in receiver.at("/down")] == ["incident.triggered"]
    waiting = await deliveries(h, down["id"])
    assert [d.attempts for d, _ in waiting] == [1] + [0] * (len(expected) - 1)
    assert all(d.status == PENDING for d, _ in waiting)
    for _ in range(6):  # retries after 1, 3, 5 and 10 s; the receiver is back after the 4th failure
        clock.advance(seconds=10)
        await deliver(h)
    assert [r.event["event_type"] for r in receiver.at("/down")] == ["incident.triggered"] * 5 + expected[1:]
    assert all(d.status == DELIVERED for d, _ in await deliveries(h, down["id"]))
    assert len(receiver.at("/up")) == len(expected)  # the healthy one got each event once
    assert [d.status for d, _ in await deliveries(h, up["id"])] == [DELIVERED] * len(expected)


async def test_a_hanging_receiver_does_not_hold_up_a_healthy_one(harness: Harness, receiver: Receiver) -> None:
    h = harness
    receiver.hang_seconds = 5.0
    step = webhook_step(h)
    step.dispatcher.send_timeout = 4.0
    healthy = await subscribe(h, receiver.url("/healthy"), events=["incident.triggered", "incident.acknowledged"])
    hanging = await subscribe(h, receiver.url("/hanging"), events=["incident.triggered", "incident.acknowledged"])
    receiver.answer("/hanging", "hang", "hang")
    r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
        "type": "incident", "title": "slow", "service": {"id": h.seed.service_id, "type": "service_reference"}}})
    incident = r.json()["incident"]["id"]
    started = time.monotonic()
    await h.tocsin.engine.tick()
    await until(lambda: len(receiver.at("/healthy")) >= 1)
    r = await h.client.put(f"/incidents/{incident}", headers=h.writer,
                           json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
    assert r.status_code == 200
    for _ in range(500):  # the healthy lane recorded (its next event is claimable); the hanging one not
        if [d.status for d, _ in await deliveries(h, healthy["id"])][:1] == [DELIVERED]:
            break
        await asyncio.sleep(0.01)
    await h.tocsin.engine.tick()
    await until(lambda: len(receiver.at("/healthy")) >= 2)
    healthy_done = time.monotonic() - started
    # Both healthy events went out while the other receiver's first request still hung, unanswered
    # and unrecorded (its lane gives up after 4 s).
    assert step.dispatcher.in_flight == 1 and healthy_done < 3.5, healthy_done
    assert [d.attempts for d, _ in await deliveries(h, hanging["id"])] == [0, 0]
    assert [r.event["event_type"] for r in receiver.at("/healthy")] == ["incident.triggered",
                                                                         "incident.acknowledged"]
    await step.settle()
    [(first, _), (second, _)] = await deliveries(h, hanging["id"])
    assert first.status == PENDING and first.attempts == 1 and "no answer within 4 s" in (first.last_error or "")
    assert second.attempts == 0  # still behind the first


async def test_a_4xx_drops_the_delivery_and_the_next_one_goes(harness: Harness, receiver: Receiver) -> None:
    h = harness
    start_clock(h, T0)
    sub = await subscribe(h, receiver.url("/picky"), events=["incident.triggered", "incident.acknowledged"])
    receiver.answer("/picky", 410)
    r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
        "type": "incident", "title": "gone", "service": {"id": h.seed.service_id, "type": "service_reference"}}})
    await h.client.put(f"/incidents/{r.json()['incident']['id']}", headers=h.writer,
                       json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
    await deliver(h)
    [(dropped, _), (sent, _)] = await deliveries(h, sub["id"])
    assert dropped.status == FAILED and dropped.attempts == 1 and dropped.last_status_code == 410
    assert "HTTP 410" in (dropped.last_error or "") and "refused by the test receiver" in (dropped.last_error or "")
    assert sent.status == DELIVERED
    assert len(receiver.at("/picky")) == 2


async def test_a_redirect_is_not_followed(harness: Harness, receiver: Receiver) -> None:
    h = harness
    sub = await subscribe(h, receiver.url("/moved"))
    receiver.answer("/moved", 307)
    assert (await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer)).status_code == 202
    await deliver(h)
    [(row, _)] = await deliveries(h, sub["id"])
    assert row.status == FAILED and "not followed" in (row.last_error or "")
    assert receiver.at("/redirected") == []


async def test_rotation_signs_with_both_secrets_during_the_grace_period(harness: Harness,
                                                                        receiver: Receiver) -> None:
    h = harness
    clock = start_clock(h, T0)
    sub = await subscribe(h, receiver.url("/rotating"))
    old = sub["delivery_method"]["secret"]
    r = await h.client.post(f"/webhook_subscriptions/{sub['id']}/rotate_secret", headers=h.writer)
    new = r.json()["webhook_subscription"]["delivery_method"]["secret"]
    assert (await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer)).status_code == 202
    await deliver(h)
    clock.advance(hours=24, seconds=1)
    assert (await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer)).status_code == 202
    await deliver(h)
    during, after = receiver.at("/rotating")
    values = during.headers["x-pagerduty-signature"].split(",")
    assert len(values) == 2 and all(v.startswith("v1=") for v in values)
    assert signed_by(during.body, during.headers["x-pagerduty-signature"], new)
    assert signed_by(during.body, during.headers["x-pagerduty-signature"], old)
    assert len(after.headers["x-pagerduty-signature"].split(",")) == 1
    assert signed_by(after.body, after.headers["x-pagerduty-signature"], new)
    assert not signed_by(after.body, after.headers["x-pagerduty-signature"], old)


async def test_every_attempt_is_readable_and_a_finished_delivery_can_be_redelivered(
        harness: Harness, receiver: Receiver) -> None:
    h = harness
    clock = start_clock(h, T0)
    sub = await subscribe(h, receiver.url("/flaky"))
    receiver.answer("/flaky", 500, 429)
    assert (await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer)).status_code == 202
    await deliver(h)
    clock.advance(seconds=1)
    await deliver(h)
    clock.advance(seconds=3)
    await deliver(h)
    r = await h.client.get(f"/webhook_subscriptions/{sub['id']}/deliveries", headers=h.auth, params={"total": "true"})
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    assert page["total"] == 1 and page["more"] is False and page["limit"] == 25
    [delivery] = page["deliveries"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert delivery["event"]["event_type"] == "pagey.ping"
    log = delivery["attempt_log"]
    assert [a["status_code"] for a in log] == [500, 429, 200]
    assert [a["outcome"] for a in log] == ["retry", "retry", "delivered"]
    assert [a["attempted_at"] for a in log] == ["2030-01-07T08:00:00Z", "2030-01-07T08:00:01Z", "2030-01-07T08:00:04Z"]
    assert all(isinstance(a["latency_ms"], int) and a["latency_ms"] >= 0 for a in log)
    assert log[0]["error"].startswith("HTTP 500") and log[2]["error"] is None
    ids = {r.headers["x-webhook-id"] for r in receiver.at("/flaky")}
    assert ids == {delivery["id"]}  # the same X-Webhook-Id on every retry
    r = await h.client.post(f"/webhook_subscriptions/{sub['id']}/deliveries/{delivery['id']}/redeliver",
                            headers=h.writer)
    assert r.status_code == 202, r.text
    again = r.json()["delivery"]
    assert again["id"] != delivery["id"] and again["status"] == "pending" and again["event"] == delivery["event"]
    await deliver(h)
    bodies = [r.body for r in receiver.at("/flaky")]
    assert bodies[-1] == bodies[0] and receiver.at("/flaky")[-1].headers["x-webhook-id"] == again["id"]
    r = await h.client.get(f"/webhook_subscriptions/{sub['id']}/deliveries", headers=h.auth,
                           params={"status": "pending"})
    assert r.json()["deliveries"] == []


async def test_a_refused_connection_is_retried(harness: Harness, receiver: Receiver) -> None:
    h = harness
    clock = start_clock(h, T0)
    closed = f"http://127.0.0.1:{_free_port()}/nobody"
    sub = await subscribe(h, closed)
    assert (await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer)).status_code == 202
    await deliver(h)
    [(row, _)] = await deliveries(h, sub["id"])
    assert row.status == PENDING and row.attempts == 1 and row.last_status_code is None
    assert "Connect" in (row.last_error or "")
    assert row.due_at == clock.now() + timedelta(seconds=1)


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
