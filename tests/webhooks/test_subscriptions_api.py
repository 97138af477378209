"""/webhook_subscriptions: PagerDuty's shapes, the secret shown once, header values redacted,
validation, filters, audit records, access, enable/ping/rotation, and turning off or deleting a
subscription announced to the admins."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.auth.tokens import user_with_key
from tests.conftest import Harness
from tests.helpers import assert_error, audit_trail
from tests.incidents.helpers import new_user
from tests.webhooks.helpers import deliveries, notices, subscribe, subscription_body
from tocsin.audit.models import AuditRecord
from tocsin.webhooks.models import DROPPED, PENDING, WebhookSubscription

URL = "https://hooks.example.com/pagerduty?token=abc"


async def test_create_shows_the_secret_once_and_redacts_header_values(harness: Harness) -> None:
    h = harness
    created = await subscribe(h, URL, headers=[{"name": "X-Api-Key", "value": "hunter2"}])
    method = created["delivery_method"]
    assert created["type"] == "webhook_subscription" and created["active"] is True
    assert method["type"] == "http_delivery_method" and method["url"] == URL
    assert method["temporarily_disabled"] is False and method["id"] and method["id"] != created["id"]
    secret = method["secret"]
    assert isinstance(secret, str) and len(secret) >= 32
    assert method["custom_headers"] == [{"name": "X-Api-Key", "value": "-- redacted --"}]
    assert created["filter"] == {"type": "account_reference"}
    got = (await h.client.get(f"/webhook_subscriptions/{created['id']}", headers=h.auth)).json()
    assert got["webhook_subscription"]["delivery_method"]["secret"] is None
    assert got["webhook_subscription"]["delivery_method"]["custom_headers"] == [
        {"name": "X-Api-Key", "value": "-- redacted --"}]
    listed = (await h.client.get("/webhook_subscriptions", headers=h.auth)).json()
    assert [s["id"] for s in listed["webhook_subscriptions"]] == [created["id"]]
    assert listed["webhook_subscriptions"][0]["delivery_method"]["secret"] is None
    assert "hunter2" not in str(listed) and secret not in str(listed)
    assert {"limit", "offset", "more", "total"} <= set(listed)
    # Stored sealed: neither the secret nor the header value is in the row.
    async with h.tocsin.db.transaction() as session:
        row = await session.get(WebhookSubscription, created["id"])
        assert row is not None
        assert secret not in row.secret and "hunter2" not in str(row.custom_headers)
        audit = (await session.scalars(select(AuditRecord).where(AuditRecord.root_id == created["id"]))).all()
    assert [a.action for a in audit] == ["create"]
    assert secret not in str(audit[0].fields) and "hunter2" not in str(audit[0].fields)


async def test_bad_input_is_a_clear_400(harness: Harness) -> None:
    h = harness
    cases: list[dict[str, Any]] = [
        subscription_body("ftp://example.com/x"),
        subscription_body("https://user:pw@example.com/x"),
        subscription_body(URL, events=["incident.exploded"]),
        subscription_body(URL, events=[]),
        subscription_body(URL, filter_={"type": "service_reference"}),
        subscription_body(URL, filter_={"type": "service_reference", "id": "PNOSUCH1"}),
        subscription_body(URL, filter_={"type": "team_reference", "id": "PNOSUCH1"}),
        subscription_body(URL, headers=[{"name": "X-PagerDuty-Signature", "value": "v1=forged"}]),
        subscription_body(URL, headers=[{"name": "bad header", "value": "x"}]),
        subscription_body(URL, headers=[{"name": "X-A", "value": "line\r\nInjected: 1"}]),
        subscription_body(URL, oauth_client_id="AGMEB7F7YJYELCPG4Y5YWMYGXE"),
    ]
    for body in cases:
        r = await h.client.post("/webhook_subscriptions", headers=h.writer, json=body)
        assert_error(r, 400, 2001)
    assert (await h.client.get("/webhook_subscriptions", headers=h.auth)).json()["webhook_subscriptions"] == []


async def test_filters_list_and_update(harness: Harness) -> None:
    h = harness
    service = h.seed.service_id
    assert service is not None
    everything = await subscribe(h, URL)
    one = await subscribe(h, URL, filter_={"type": "service_reference", "id": service})

    async def listed(**params: str) -> list[str]:
        r = await h.client.get("/webhook_subscriptions", headers=h.auth, params=params)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["webhook_subscriptions"]]

    assert await listed() == [everything["id"], one["id"]]
    assert await listed(filter_type="service", filter_id=service) == [one["id"]]
    assert await listed(filter_type="account") == [everything["id"]]
    assert await listed(filter_type="team", filter_id="PNOTEAM") == []
    r = await h.client.get("/webhook_subscriptions", headers=h.auth, params={"filter_type": "service"})
    assert_error(r, 400, 2001)
    # PUT changes what it may; a delivery_method sent back (as a GET's answer) changes nothing.
    got = (await h.client.get(f"/webhook_subscriptions/{one['id']}", headers=h.auth)).json()["webhook_subscription"]
    got["delivery_method"]["url"] = "https://elsewhere.example.com/"
    got.update(description="changed", events=["incident.resolved"])
    r = await h.client.put(f"/webhook_subscriptions/{one['id']}", headers=h.writer, json={"webhook_subscription": got})
    assert r.status_code == 200, r.text
    updated = r.json()["webhook_subscription"]
    assert updated["description"] == "changed" and updated["events"] == ["incident.resolved"]
    assert updated["delivery_method"]["url"] == URL
    assert updated["delivery_method"]["custom_headers"] == []
    r = await h.client.put(f"/webhook_subscriptions/{one['id']}", headers=h.writer,
                           json={"webhook_subscription": {"events": None}})
    assert_error(r, 400, 2001)
    assert [a for a, _, _ in await audit_trail(h, one["id"])] == ["create", "update"]


async def test_turning_off_and_deleting_drop_the_queue_and_tell_the_admins(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness
    woken: list[Mapping[str, datetime] | None] = []
    monkeypatch.setattr(h.tocsin.engine, "wake", woken.append)
    sub = await subscribe(h, URL)
    r = await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer)
    assert r.status_code == 202, r.text
    [(queued, event)] = await deliveries(h, sub["id"])
    assert queued.status == PENDING and event.event_type == "pagey.ping"
    assert r.json()["webhook_delivery"]["id"] == queued.id
    r = await h.client.put(f"/webhook_subscriptions/{sub['id']}", headers=h.writer,
                           json={"webhook_subscription": {"active": False}})
    assert r.status_code == 200 and r.json()["webhook_subscription"]["active"] is False
    [(dropped, _)] = await deliveries(h, sub["id"])
    assert dropped.status == DROPPED and "turned off" in (dropped.last_error or "")
    [notice] = await notices(h)
    assert notice.address == h.seed.admin_email and notice.channel == "email"
    # Announced to the engine's notify step by that commit: sent at once, not at its next look.
    assert {"notify": notice.due_at} in woken
    assert notice.detail and "turned off" in notice.detail["subject"]
    assert "token=abc" not in str(notice.detail)  # a URL's query may hold a token: never in a notice
    # Turned off: ping is refused, settings kept; on again: ping works.
    assert_error(await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer), 400, 2001)
    r = await h.client.put(f"/webhook_subscriptions/{sub['id']}", headers=h.writer,
                           json={"webhook_subscription": {"active": True}})
    assert r.json()["webhook_subscription"]["events"] == sub["events"]
    assert (await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer)).status_code == 202
    r = await h.client.delete(f"/webhook_subscriptions/{sub['id']}", headers=h.writer)
    assert r.status_code == 204
    assert (await h.client.get(f"/webhook_subscriptions/{sub['id']}", headers=h.auth)).status_code == 404
    assert await deliveries(h, sub["id"]) == []
    kinds = [n.detail["what"] for n in await notices(h) if n.detail]
    assert kinds == ["deactivated", "deleted"]
    assert [a for a, _, _ in await audit_trail(h, sub["id"])] == ["create", "delete", "update", "update"]


async def test_enable_and_rotation(harness: Harness) -> None:
    h = harness
    sub = await subscribe(h, URL)
    r = await h.client.post(f"/webhook_subscriptions/{sub['id']}/enable", headers=h.writer)
    assert r.status_code == 200 and r.json()["webhook_subscription"]["delivery_method"]["temporarily_disabled"] is False
    r = await h.client.post(f"/webhook_subscriptions/{sub['id']}/rotate_secret", headers=h.writer)
    assert r.status_code == 200, r.text
    rotated = r.json()["webhook_subscription"]
    new = rotated["delivery_method"]["secret"]
    assert new and new != sub["delivery_method"]["secret"] and rotated["previous_secret_expires_at"]
    got = (await h.client.get(f"/webhook_subscriptions/{sub['id']}", headers=h.auth)).json()
    assert got["webhook_subscription"]["delivery_method"]["secret"] is None
    for path in ("", "/enable", "/ping", "/rotate_secret", "/deliveries"):
        method = h.client.get if path in ("", "/deliveries") else h.client.post
        r = await method(f"/webhook_subscriptions/PNOSUCH{path}", headers=h.writer)
        assert_error(r, 404, 2100)


async def test_only_admins_and_account_keys_manage_subscriptions(harness: Harness) -> None:
    h = harness
    _, manager = await user_with_key(h, "user")
    _, admin = await user_with_key(h, "admin")
    _, read_only = await user_with_key(h, "admin", read_only=True)
    body = subscription_body(URL)
    r = await h.client.post("/webhook_subscriptions", json=body, headers={"Authorization": f"Token token={manager}"})
    assert_error(r, 403, 2010)
    r = await h.client.get("/webhook_subscriptions", headers={"Authorization": f"Token token={manager}"})
    assert_error(r, 403, 2010)
    r = await h.client.post("/webhook_subscriptions", json=body, headers={"Authorization": f"Token token={read_only}"})
    assert_error(r, 403, 2010)
    r = await h.client.post("/webhook_subscriptions", json=body, headers={"Authorization": f"Token token={admin}"})
    assert r.status_code == 200, r.text
    await new_user(h, "Bystander")  # a plain user is told nothing about webhooks
