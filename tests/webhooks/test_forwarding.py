"""Forwarders: a service's incidents as Events API v2 events to an upstream Events API.

Proved against a second, real Tocsin (``tocsin init --json`` + ``tocsin serve`` in a process, on
its own SQLite file): the upstream incident triggers, acknowledges and resolves in step with this
one, and the test action's ``[Test message]`` incident triggers there and resolves. Against a
failing upstream (a local receiver answering 500, then 202) the event is retried on the webhooks'
schedule, fast-forwarded."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from tests.cli.conftest import Server
from tests.config_as_code.servers import fresh_server
from tests.conftest import Harness
from tests.engine.helpers import start_clock
from tests.webhooks.helpers import deliver, deliveries, notices
from tests.webhooks.receiver import Receiver, running_receiver
from tocsin.audit.models import AuditRecord
from tocsin.webhooks.models import DELIVERED, FAILED, PENDING, DeliveryAttempt

T0 = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with fresh_server(tmp_path_factory.mktemp("upstream")) as server:
        yield server


async def forwarder(h: Harness, url: str, key: str, **fields: Any) -> dict[str, Any]:
    assert h.seed.service_id
    r = await h.client.post(f"/services/{h.seed.service_id}/forwarders", headers=h.writer,
                            json={"forwarder": {"url": url, "integration_key": key, "description": "to central",
                                                **fields}})
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()["forwarder"]
    return found


async def incident(h: Harness, key: str, urgency: str = "high") -> str:
    r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
        "type": "incident", "title": f"Disk full {key}", "incident_key": key, "urgency": urgency,
        "service": {"id": h.seed.service_id, "type": "service_reference"}}})
    assert r.status_code == 201, r.text
    found: str = r.json()["incident"]["id"]
    return found


async def set_status(h: Harness, incident_id: str, status: str) -> None:
    r = await h.client.put(f"/incidents/{incident_id}", headers=h.writer,
                           json={"incident": {"type": "incident_reference", "status": status}})
    assert r.status_code == 200, r.text


def upstream_incident(server: Server, key: str, status: str) -> dict[str, Any]:
    """The upstream's incident of ``key`` once it has ``status`` (its events worker is async)."""
    headers = {"Authorization": f"Token token={server.api_key}", "Accept": "application/vnd.pagerduty+json;version=2"}
    deadline = time.monotonic() + 20
    seen: list[Any] = []
    while time.monotonic() < deadline:
        r = httpx.get(f"{server.url}/incidents", headers=headers,
                      params={"incident_key": key, "statuses[]": ["triggered", "acknowledged", "resolved"]})
        assert r.status_code == 200, r.text
        seen = r.json()["incidents"]
        if seen and seen[0]["status"] == status:
            assert len(seen) == 1, seen
            found: dict[str, Any] = seen[0]
            return found
        time.sleep(0.2)
    raise AssertionError(f"upstream incident {key} never became {status}: {seen}")


async def test_the_upstream_tocsin_incident_follows_this_one(harness: Harness, upstream: Server) -> None:
    h = harness
    fwd = await forwarder(h, f"{upstream.url}/v2/enqueue", upstream.integration_key)
    assert fwd["integration_key"] == "-- redacted --" and upstream.integration_key not in str(fwd)
    assert fwd["events"] == ["trigger", "acknowledge", "resolve"]
    key = f"edge/disk-{uuid.uuid4()}"  # the upstream is shared by this module's tests (both databases)
    iid = await incident(h, key)
    await deliver(h)
    up = upstream_incident(upstream, key, "triggered")
    assert up["title"] == f"Disk full {key}"
    await set_status(h, iid, "acknowledged")
    await deliver(h)
    assert upstream_incident(upstream, key, "acknowledged")["id"] == up["id"]
    await set_status(h, iid, "resolved")
    await deliver(h)
    assert upstream_incident(upstream, key, "resolved")["id"] == up["id"]
    rows = await deliveries(h, fwd["id"])
    assert [(d.event_type, d.status) for d, _ in rows] == [
        ("incident.triggered", DELIVERED), ("incident.acknowledged", DELIVERED), ("incident.resolved", DELIVERED)]
    # Every attempt is readable, as a webhook subscription's are.
    r = await h.client.get(f"/services/{h.seed.service_id}/forwarders/{fwd['id']}/deliveries", headers=h.auth)
    assert r.status_code == 200 and [d["attempt_log"][0]["status_code"] for d in r.json()["deliveries"]] == [202] * 3


async def test_the_test_action_triggers_then_resolves_upstream(harness: Harness, upstream: Server) -> None:
    h = harness
    fwd = await forwarder(h, f"{upstream.url}/v2/enqueue", upstream.integration_key)
    r = await h.client.post(f"/services/{h.seed.service_id}/forwarders/{fwd['id']}/test", headers=h.writer)
    assert r.status_code == 202, r.text
    await deliver(h)
    rows = await deliveries(h, fwd["id"])
    assert [(d.event_type, d.status) for d, _ in rows] == [("incident.triggered", DELIVERED),
                                                         ("incident.resolved", DELIVERED)]
    key = orjson.loads(rows[0][1].body)["event"]["data"]["incident_key"]
    up = upstream_incident(upstream, key, "resolved")
    assert up["title"].startswith("[Test message]")


async def test_a_failing_upstream_is_retried_on_the_schedule(harness: Harness, receiver: Receiver) -> None:
    h = harness
    clock = start_clock(h, T0)
    fwd = await forwarder(h, receiver.url("/v2/enqueue"), "R0UT1NGKEY")
    receiver.answer("/v2/enqueue", 500, 500, 202)
    await incident(h, "edge/flaky")
    await deliver(h)
    [(row, _)] = await deliveries(h, fwd["id"])
    for _ in range(5):
        if row.status != PENDING:
            break
        clock.advance(seconds=(row.due_at - clock.now()).total_seconds())
        await deliver(h)
        [(row, _)] = await deliveries(h, fwd["id"])
    assert row.status == DELIVERED and row.attempts == 3
    async with h.tocsin.db.transaction() as session:
        attempts = list(await session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_seq == row.seq)
                                              .order_by(DeliveryAttempt.id)))
    # The brief's first cycle: 1 s, then 3 s.
    assert [a.attempted_at for a in attempts] == [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=4)]
    assert [a.status_code for a in attempts] == [500, 500, 202]
    got = receiver.at("/v2/enqueue")
    assert len(got) == 3 and len({r.body for r in got}) == 1  # the same event each time
    sent = orjson.loads(got[0].body)
    assert sent["routing_key"] == "R0UT1NGKEY" and sent["event_action"] == "trigger"
    assert sent["dedup_key"] == "edge/flaky"
    assert sent["payload"]["summary"] == "Disk full edge/flaky" and sent["payload"]["severity"] == "critical"
    assert got[0].headers["content-type"] == "application/json"


async def test_only_the_chosen_actions_and_urgencies_are_forwarded(harness: Harness, receiver: Receiver) -> None:
    h = harness
    fwd = await forwarder(h, receiver.url("/only"), "K", events=["trigger", "resolve"], urgencies=["high"])
    low = await incident(h, "low/1", urgency="low")
    high = await incident(h, "high/1")
    for iid in (low, high):
        await set_status(h, iid, "acknowledged")
        await set_status(h, iid, "resolved")
    await deliver(h)
    sent = [orjson.loads(r.body) for r in receiver.at("/only")]
    assert [(s["event_action"], s["dedup_key"]) for s in sent] == [("trigger", "high/1"), ("resolve", "high/1")]
    assert "payload" not in sent[1]
    assert fwd["urgencies"] == ["high"]


async def test_crud_is_audited_and_refuses_bad_input(harness: Harness, receiver: Receiver) -> None:
    h = harness
    base = f"/services/{h.seed.service_id}/forwarders"
    r = await h.client.post(base, headers=h.writer, json={"forwarder": {"integration_key": "K",
                                                                        "events": ["escalate"]}})
    assert r.status_code == 400, r.text
    r = await h.client.post(base, headers=h.writer, json={"forwarder": {"integration_key": "K", "url": "ftp://x"}})
    assert r.status_code == 400, r.text
    r = await h.client.post("/services/PNOPE/forwarders", headers=h.writer,
                            json={"forwarder": {"integration_key": "K"}})
    assert r.status_code == 404, r.text
    r = await h.client.post(base, headers=h.writer, json={"forwarder": {"integration_key": "SECRETKEY"}})
    assert r.status_code == 201, r.text
    made = r.json()["forwarder"]
    assert made["url"] == "https://events.pagerduty.com/v2/enqueue"
    r = await h.client.put(f"{base}/{made['id']}", headers=h.writer,
                           json={"forwarder": {"url": receiver.url("/new"), "active": False}})
    assert r.status_code == 200 and r.json()["forwarder"]["active"] is False
    assert [f["id"] for f in (await h.client.get(base, headers=h.auth)).json()["forwarders"]] == [made["id"]]
    r = await h.client.post(f"{base}/{made['id']}/test", headers=h.writer)
    assert r.status_code == 400  # not active
    assert (await h.client.delete(f"{base}/{made['id']}", headers=h.writer)).status_code == 204
    assert (await h.client.get(f"{base}/{made['id']}", headers=h.auth)).status_code == 404
    async with h.tocsin.db.transaction() as session:
        audit = list(await session.scalars(select(AuditRecord).where(AuditRecord.root_id == made["id"])
                                           .order_by(AuditRecord.execution_time, AuditRecord.id)))
    assert [a.action for a in audit] == ["create", "update", "delete"]
    assert "SECRETKEY" not in str([a.fields for a in audit])
    # Turned off and deleted: the admins were told, naming a forwarder.
    assert any("Forwarder" in str(n.detail) for n in await notices(h))


async def test_a_failing_forwarder_is_disabled_and_the_admins_told(harness: Harness, receiver: Receiver) -> None:
    h = harness
    start_clock(h, T0)
    fwd = await forwarder(h, receiver.url("/gone"), "K")
    receiver.answer("/gone", *[404] * 12)  # a 4xx other than 429 fails at once
    for n in range(12):
        await incident(h, f"gone/{n}")
    await deliver(h)
    r = await h.client.get(f"/services/{h.seed.service_id}/forwarders/{fwd['id']}", headers=h.auth)
    found = r.json()["forwarder"]
    assert found["temporarily_disabled"] is True and "failed" in (found["disabled_reason"] or "")
    assert any(d.status == FAILED for d, _ in await deliveries(h, fwd["id"]))
    told = [n for n in await notices(h) if n.detail and "Forwarder disabled" in str(n.detail.get("subject"))]
    assert told and f"/services/{h.seed.service_id}/forwarders/{fwd['id']}/enable" in str(told[0].detail)
    r = await h.client.post(f"/services/{h.seed.service_id}/forwarders/{fwd['id']}/enable", headers=h.writer)
    assert r.status_code == 200 and r.json()["forwarder"]["temporarily_disabled"] is False
