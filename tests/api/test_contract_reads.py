"""Contract checks for the read routes no other test held to PagerDuty's response schema:
an integration, change events (list and one) and notifications. Routes taking include[] are checked in
test_includes.py, alerts in tests/incidents/test_alert_contexts.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import Harness
from tests.contract import assert_conforms


async def test_integration_conforms(harness: Harness) -> None:
    h = harness
    service = (await h.client.get(f"/services/{h.seed.service_id}", headers=h.auth)).json()["service"]
    url = f"/services/{service['id']}/integrations/{service['integrations'][0]['id']}"
    assert_conforms(await h.client.get(url, headers=h.auth), "GET", "/services/{id}/integrations/{integration_id}", 200)


async def test_change_events_conform(harness: Harness) -> None:
    h = harness
    r = await h.send({"routing_key": h.routing_key, "payload": {"summary": "Deployed v2", "source": "ci"},
                      "links": [{"href": "https://ci.example/builds/2", "text": "Build 2"}]}, "/v2/change/enqueue")
    assert r.status_code == 202, r.text
    await h.process()
    listed = await h.client.get("/change_events", headers=h.auth)
    assert_conforms(listed, "GET", "/change_events", 200)
    [change] = listed.json()["change_events"]
    assert change["summary"] == "Deployed v2"
    one = await h.client.get(f"/change_events/{change['id']}", headers=h.auth)
    assert_conforms(one, "GET", "/change_events/{id}", 200)


async def test_notifications_conform(harness: Harness) -> None:
    from tests.notifications.test_notifications_list import add
    from tocsin.notifications.models import EMAIL, PUSH

    h = harness
    me = (await h.client.get("/users", headers=h.auth)).json()["users"][0]["id"]
    await add(h, me, EMAIL, h.seed.admin_email, datetime.now(UTC) - timedelta(minutes=2))
    await add(h, me, PUSH, "device", datetime.now(UTC) - timedelta(minutes=1))
    for params in ({}, {"include[]": "users"}):
        listed = await h.client.get("/notifications", headers=h.auth, params=params)
        assert_conforms(listed, "GET", "/notifications", 200, expanded=bool(params))
        assert [n["type"] for n in listed.json()["notifications"]] == ["email_notification", "push_notification"]
