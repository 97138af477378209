"""The ``pagerduty`` fixture: a real Tocsin on free ports, seeded, with a clock the test moves.

Every test here talks to the double over real HTTP, as an integration under test would.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pagerduty as pagerduty_client
import pytest

from tocsin.testing import PagerDuty, start_pagerduty
from tocsin.testing.seed import ADMIN_EMAIL, RESPONDER_EMAIL


def trigger(pd: PagerDuty, dedup_key: str, summary: str = "Disk full on db-1", **extra: object) -> httpx.Response:
    return httpx.post(pd.events_url, json={
        "routing_key": pd.routing_key, "event_action": "trigger", "dedup_key": dedup_key,
        "payload": {"summary": summary, "source": "db-1", "severity": "critical"}, **extra})


def test_the_seeded_account_answers_on_both_apis(pagerduty: PagerDuty) -> None:
    assert pagerduty.url.startswith("http://127.0.0.1:")
    assert pagerduty.events_url == pagerduty.url + "/v2/enqueue"
    services = pagerduty.request("GET", "/services").json()["services"]
    assert [(s["id"], s["escalation_policy"]["id"]) for s in services] == [
        (pagerduty.service_id, pagerduty.escalation_policy_id)]
    [ref] = services[0]["integrations"]
    integration = pagerduty.request("GET", f"/services/{pagerduty.service_id}/integrations/{ref['id']}").json()
    assert integration["integration"]["integration_key"] == pagerduty.routing_key
    policy = pagerduty.request("GET", f"/escalation_policies/{pagerduty.escalation_policy_id}").json()
    levels = [([t["summary"] for t in rule["targets"]], rule["escalation_delay_in_minutes"])
              for rule in policy["escalation_policy"]["escalation_rules"]]
    assert levels == [(["Administrator"], 30), (["Responder"], 30)]
    # A wrong key is refused, as PagerDuty refuses it.
    assert httpx.get(pagerduty.url + "/services", headers={**pagerduty.headers,
                                                           "Authorization": "Token token=nope"}).status_code == 401


def test_an_event_becomes_an_incident_the_admin_is_paged_about(pagerduty: PagerDuty) -> None:
    r = trigger(pagerduty, "disk-db-1")
    assert r.status_code == 202, r.text
    incident = pagerduty.next_incident_sync("disk-db-1")
    assert (incident["title"], incident["status"], incident["urgency"]) == ("Disk full on db-1", "triggered", "high")
    assert [a["assignee"]["summary"] for a in incident["assignments"]] == ["Administrator"]
    [sent] = pagerduty.notifications()
    assert (sent.channel, sent.to, sent.incident_id, sent.kind) == ("email", ADMIN_EMAIL, incident["id"], "incident")
    assert "Disk full on db-1" in sent.subject
    assert sent.sent_at == pagerduty.now()  # the clock is frozen: sent at once
    assert set(sent.actions) == {"acknowledge", "resolve"}


def test_advancing_the_clock_fires_the_escalation_at_its_due_time(pagerduty: PagerDuty) -> None:
    opened_at = pagerduty.now()
    trigger(pagerduty, "api-down", "API down")
    incident = pagerduty.next_incident_sync("api-down")

    pagerduty.advance(minutes=29)
    assert [n.to for n in pagerduty.notifications()] == [ADMIN_EMAIL]  # not yet

    reached = pagerduty.advance(minutes=36)  # past level 2's start, and past its own 30 minutes
    assert reached == opened_at + timedelta(minutes=65)
    to_responder = pagerduty.notifications(to=RESPONDER_EMAIL)
    assert [(n.incident_id, n.user_id) for n in to_responder] == [(incident["id"], pagerduty.seed.responder_id)]
    # Sent when level 2 began (+30), not when the test's jump ended: the engine ran at each due time.
    assert to_responder[0].sent_at == opened_at + timedelta(minutes=30)
    [now] = pagerduty.incidents(incident_key="api-down")
    assert [a["assignee"]["summary"] for a in now["assignments"]] == ["Responder"]
    kinds = [e["type"] for e in pagerduty.log_entries(incident["id"])]
    assert "escalate_log_entry" in kinds and kinds.count("notify_log_entry") == 2


def test_timeouts_fire_too_acknowledgement_then_auto_resolve(pagerduty: PagerDuty) -> None:
    trigger(pagerduty, "cpu")
    incident = pagerduty.next_incident_sync("cpu")
    r = pagerduty.request("PUT", f"/incidents/{incident['id']}",
                          json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
    assert r.status_code == 200, r.text
    pagerduty.advance(minutes=31)  # the service's 30-minute acknowledgement timeout
    [back] = pagerduty.incidents(incident_key="cpu")
    assert back["status"] == "triggered"
    assert "unacknowledge_log_entry" in [e["type"] for e in pagerduty.log_entries(incident["id"])]
    pagerduty.advance(hours=4)  # the service's auto-resolve timeout
    [done] = pagerduty.incidents(incident_key="cpu")
    assert done["status"] == "resolved"


async def test_next_incident_waits_for_an_event_sent_later_and_hands_each_out_once(pagerduty: PagerDuty) -> None:
    async with httpx.AsyncClient() as client:
        async def send(key: str) -> None:
            r = await client.post(pagerduty.events_url, json={
                "routing_key": pagerduty.routing_key, "event_action": "trigger", "dedup_key": key,
                "payload": {"summary": key, "source": "app", "severity": "error"}})
            assert r.status_code == 202

        await send("first")
        first = await pagerduty.next_incident()
        assert first["incident_key"] == "first"
        later = asyncio.get_running_loop().call_later(0.3, lambda: asyncio.ensure_future(send("second")))
        second = await pagerduty.next_incident(timeout=5)
        later.cancel()
        assert second["incident_key"] == "second"
        with pytest.raises(TimeoutError):
            await pagerduty.next_incident(timeout=0.2)


def test_a_refused_event_is_what_the_timeout_reports(pagerduty: PagerDuty) -> None:
    r = httpx.post(pagerduty.events_url, json={"routing_key": pagerduty.routing_key, "event_action": "trigger",
                                               "dedup_key": "broken", "payload": {"source": "db-1"}})
    assert r.status_code == 400
    with pytest.raises(TimeoutError) as waited:
        pagerduty.next_incident_sync("broken", timeout=0.2)
    assert "POST /v2/enqueue -> 400" in str(waited.value)
    assert "summary" in str(waited.value)
    [seen] = pagerduty.requests("events")
    assert (seen.accepted, seen.status, seen.dedup_key) == (False, 400, "broken")
    assert any("summary" in e for e in seen.errors)
    assert seen.body["routing_key"] == "…" + pagerduty.routing_key[-4:]  # masked: never kept in full


def test_rest_writes_are_inspected_with_their_result(pagerduty: PagerDuty) -> None:
    r = pagerduty.request("POST", "/incidents", json={"incident": {
        "type": "incident", "title": "By hand", "service": {"id": "PNOPE", "type": "service_reference"}}})
    assert r.status_code in (400, 404)
    pagerduty.request("GET", "/incidents")  # reads are not inspected
    [write] = pagerduty.requests("rest")
    assert (write.method, write.path, write.accepted) == ("POST", "/incidents", False)
    assert write.errors or write.message
    assert write.headers["authorization"] == "Token …" + pagerduty.api_key[-4:]


def test_the_official_client_works_over_https(pagerduty: PagerDuty) -> None:
    events = pagerduty.events_client()
    key = events.trigger("Queue backlog", "worker-1", dedup_key="queue", severity="warning")
    assert key == "queue"
    rest = pagerduty.rest_client()
    incident = pagerduty.next_incident_sync("queue")
    rest.rput(f"/incidents/{incident['id']}", json={"incident": {"type": "incident_reference", "status": "resolved"}})
    assert [i["status"] for i in rest.list_all("incidents", params={"date_range": "all"})] == ["resolved"]
    wrong = pagerduty_client.RestApiV2Client("wrong", base_url=pagerduty.https_url, verify=pagerduty.ssl_context)
    try:
        with pytest.raises(pagerduty_client.HttpError):
            wrong.rget("/services")
    finally:
        wrong.close()


def test_each_fixture_is_a_fresh_account_with_its_own_clock() -> None:
    with start_pagerduty(tls=False) as one, start_pagerduty(tls=False) as two:
        trigger(one, "only-in-one")
        assert one.next_incident_sync("only-in-one")
        assert two.incidents() == []
        before_one, before_two = one.now(), two.now()
        one.advance(hours=1)
        assert (one.now() - before_one, two.now() - before_two) == (timedelta(hours=1), timedelta(0))
        with pytest.raises(RuntimeError, match="https"):
            _ = one.https_url
