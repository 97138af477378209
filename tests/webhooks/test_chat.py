"""Chat webhooks: a Slack-compatible message (``text`` and one attachment) posted to a real local
receiver when a service's incident triggers, is acknowledged, escalates and resolves, with the
incident's link; with an acting user, one-click acknowledge/resolve links that really act (as
that user); retried on the webhooks' schedule."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tests.engine.helpers import start_clock
from tests.incidents.helpers import admin_id, new_policy, new_user
from tests.webhooks.helpers import deliver, deliveries
from tests.webhooks.receiver import Receiver, running_receiver
from tocsin.webhooks.models import DELIVERED, DeliveryAttempt

T0 = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
LINK = re.compile(r"<([^|>]+)\|([^>]+)>")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found


async def two_level_service(h: Harness) -> str:
    admin = await admin_id(h)
    other = await new_user(h, "Olga")
    policy = await new_policy(h, [[admin], [other]])
    r = await h.client.post("/services", headers=h.writer, json={"service": {
        "name": "Chatty service", "escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}})
    assert r.status_code == 201, r.text
    found: str = r.json()["service"]["id"]
    return found


async def chat(h: Harness, service_id: str, url: str, **fields: Any) -> dict[str, Any]:
    r = await h.client.post(f"/services/{service_id}/chat_webhooks", headers=h.writer,
                            json={"chat_webhook": {"url": url, "description": "#ops", **fields}})
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()["chat_webhook"]
    return found


async def incident(h: Harness, service_id: str, title: str = "Disk <full> & more") -> str:
    r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
        "type": "incident", "title": title, "service": {"id": service_id, "type": "service_reference"}}})
    assert r.status_code == 201, r.text
    found: str = r.json()["incident"]["id"]
    return found


async def put(h: Harness, incident_id: str, **fields: Any) -> None:
    r = await h.client.put(f"/incidents/{incident_id}", headers=h.writer,
                           json={"incident": {"type": "incident_reference", **fields}})
    assert r.status_code == 200, r.text


async def test_a_message_on_trigger_acknowledge_escalate_and_resolve(harness: Harness, receiver: Receiver) -> None:
    h = harness
    service = await two_level_service(h)
    hook = await chat(h, service, receiver.url("/services/T000/B000/XXXXSECRET"))
    assert hook["url"] == f"http://127.0.0.1:{receiver.port}/-- redacted --"  # the path is the token
    assert hook["events"] == ["trigger", "acknowledge", "escalate", "resolve"] and hook["acting_user"] is None
    iid = await incident(h, service)
    await put(h, iid, status="acknowledged")
    await put(h, iid, escalation_level=2)
    await put(h, iid, status="resolved")
    await deliver(h)
    got = [orjson.loads(r.body) for r in receiver.at("/services/T000/B000/XXXXSECRET")]
    assert [m["text"].split(":")[0] for m in got] == ["Triggered", "Acknowledged", "Escalated", "Resolved"]
    html_url = f"{h.tocsin.runtime.base_url}/ui/incidents/{iid}"
    for message in got:
        assert set(message) == {"text", "attachments"}
        [attachment] = message["attachments"]
        assert attachment["title_link"] == html_url
        assert "Disk &lt;full&gt; &amp; more" in message["text"]  # Slack's control characters escaped
        assert (html_url, attachment["title"]) in LINK.findall(message["text"])
        assert "Chatty service" in message["text"]
        assert "/notification_actions/" not in orjson.dumps(message).decode()  # no acting user: no action links
    # Escalating hands the incident to the next level, triggered again (as PagerDuty does).
    assert [m["attachments"][0]["fields"][0]["value"] for m in got] == ["triggered", "acknowledged",
                                                                         "triggered", "resolved"]
    assert all(d.status == DELIVERED for d, _ in await deliveries(h, hook["id"]))


async def test_one_click_links_act_as_the_acting_user(harness: Harness, receiver: Receiver) -> None:
    h = harness
    service = await two_level_service(h)
    admin = await admin_id(h)
    bad = await h.client.post(f"/services/{service}/chat_webhooks", headers=h.writer,
                              json={"chat_webhook": {"url": receiver.url("/x"), "acting_user_id": "PNOBODY"}})
    assert bad.status_code == 400, bad.text
    hook = await chat(h, service, receiver.url("/chat"), acting_user_id=admin, events=["trigger"])
    assert hook["acting_user"] == {"id": admin, "type": "user_reference"}
    iid = await incident(h, service, "CPU high")
    await deliver(h)
    [message] = [orjson.loads(r.body) for r in receiver.at("/chat")]
    links = {text: url for url, text in LINK.findall(message["attachments"][0]["text"])}
    assert set(links) >= {"Acknowledge", "Resolve"}
    path = urlsplit(links["Acknowledge"]).path
    page = await h.client.get(path)
    assert page.status_code == 200 and "<form" in page.text  # a GET only shows the button
    assert (await h.client.get(f"/incidents/{iid}", headers=h.auth)).json()["incident"]["status"] == "triggered"
    done = await h.client.post(path)
    assert done.status_code == 200, done.text
    found = (await h.client.get(f"/incidents/{iid}", headers=h.auth)).json()["incident"]
    assert found["status"] == "acknowledged"
    assert [a["acknowledger"]["id"] for a in found["acknowledgements"]] == [admin]


async def test_a_failing_chat_receiver_is_retried_on_the_schedule(harness: Harness, receiver: Receiver) -> None:
    h = harness
    clock = start_clock(h, T0)
    service = await two_level_service(h)
    hook = await chat(h, service, receiver.url("/flaky"), events=["trigger"])
    receiver.answer("/flaky", 503, 429)
    await incident(h, service)
    await deliver(h)
    [(row, _)] = await deliveries(h, hook["id"])
    for _ in range(4):
        if row.status == DELIVERED:
            break
        clock.advance(seconds=(row.due_at - clock.now()).total_seconds())
        await deliver(h)
        [(row, _)] = await deliveries(h, hook["id"])
    async with h.tocsin.db.transaction() as session:
        attempts = list(await session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_seq == row.seq)
                                              .order_by(DeliveryAttempt.id)))
    assert [a.attempted_at for a in attempts] == [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=4)]
    assert [a.status_code for a in attempts] == [503, 429, 200] and row.status == DELIVERED
    assert len(receiver.at("/flaky")) == 3


async def test_the_test_action_posts_a_test_message(harness: Harness, receiver: Receiver) -> None:
    h = harness
    service = await two_level_service(h)
    hook = await chat(h, service, receiver.url("/t"))
    r = await h.client.post(f"/services/{service}/chat_webhooks/{hook['id']}/test", headers=h.writer)
    assert r.status_code == 202, r.text
    await deliver(h)
    got = [orjson.loads(r.body)["text"] for r in receiver.at("/t")]
    assert [t.split(":")[0] for t in got] == ["Triggered", "Resolved"]
    assert all("[Test message]" in t for t in got)
