"""Deleting a service takes its outbound destinations with it, in the deleting transaction: its
forwarders and chat webhooks are deleted (queues dropped, admins told, each audited as a delete by
the deleter), and webhook subscriptions filtered on it are turned off (audited as an update) and
stay off until they get another filter. Other services' destinations and account-wide
subscriptions are untouched (the latter get ``service.deleted``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.conftest import Harness
from tests.webhooks.helpers import deliveries, notices, subscribe
from tocsin.audit.models import AuditRecord
from tocsin.webhooks.models import DROPPED, PENDING, Destination

SERVICE_EVENTS = ["service.deleted", "incident.triggered"]


async def make(h: Harness, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    r = await h.client.post(path, headers=h.writer, json=body)
    assert r.status_code == status, r.text
    found: dict[str, Any] = next(iter(r.json().values()))
    return found


async def test_deleting_a_service_deletes_its_relays_and_turns_off_subscriptions_filtered_on_it(
        harness: Harness) -> None:
    h = harness
    policy = {"id": h.seed.escalation_policy_id, "type": "escalation_policy_reference"}
    doomed = await make(h, "/services", {"service": {"name": "Doomed", "escalation_policy": policy}})
    base = f"/services/{doomed['id']}"
    forwarder = await make(h, f"{base}/forwarders", {"forwarder": {
        "url": "https://events.example/v2/enqueue", "integration_key": "k" * 32, "description": "central"}})
    chat = await make(h, f"{base}/chat_webhooks", {"chat_webhook": {
        "url": "https://chat.example/hooks/T0K3N", "description": "#ops"}})
    kept = await make(h, f"/services/{h.seed.service_id}/forwarders", {"forwarder": {
        "url": "https://events.example/v2/enqueue", "integration_key": "j" * 32, "description": "other"}})
    filtered = await subscribe(h, "https://receiver.example/doomed", events=SERVICE_EVENTS,
                               filter_={"type": "service_reference", "id": doomed["id"]})
    everything = await subscribe(h, "https://receiver.example/all", events=SERVICE_EVENTS)
    assert (await h.client.post(f"{base}/forwarders/{forwarder['id']}/test", headers=h.writer)).status_code == 202
    assert (await h.client.post(f"/webhook_subscriptions/{filtered['id']}/ping", headers=h.writer)).status_code == 202
    before_notices = len(await notices(h))

    r = await h.client.delete(base, headers=h.writer)
    assert r.status_code == 204, r.text

    async with h.tocsin.db.transaction() as session:
        left = set((await session.scalars(select(Destination.id))).all())
        trail = {tuple(row) for row in (await session.execute(
            select(AuditRecord.action, AuditRecord.root_type, AuditRecord.root_id, AuditRecord.actor_id)
            .where(AuditRecord.root_id.in_([forwarder["id"], chat["id"], filtered["id"], doomed["id"]]))
            .where(AuditRecord.action != "create")))}
    assert forwarder["id"] not in left and chat["id"] not in left and kept["id"] in left
    assert await deliveries(h, forwarder["id"]) == []
    deleter = next(actor for action, kind, _, actor in trail if kind == "service")  # the service's own record
    assert trail == {("delete", "service", doomed["id"], deleter), ("delete", "forwarder", forwarder["id"], deleter),
                     ("delete", "chat_webhook", chat["id"], deleter),
                     ("update", "webhook_subscription", filtered["id"], deleter)}
    assert (await h.client.get(f"{base}/forwarders", headers=h.auth)).status_code == 404

    sub = (await h.client.get(f"/webhook_subscriptions/{filtered['id']}", headers=h.auth)).json()
    assert sub["webhook_subscription"]["active"] is False
    [(ping, _)] = await deliveries(h, filtered["id"])  # its queue dropped, saying why; no service.deleted
    assert ping.status == DROPPED and "its filter's service Doomed was deleted" in (ping.last_error or "")
    [(gone, event)] = await deliveries(h, everything["id"])
    assert gone.status == PENDING and event.event_type == "service.deleted"
    told = [(n.detail or {})["subject"] for n in (await notices(h))[before_notices:]]
    assert {s.split(":")[0] for s in told} == {"Forwarder deleted", "Chat webhook deleted",
                                               "Webhook subscription turned off"}

    # Off until it names something live: turning it on as it is is refused, with another filter allowed.
    on = {"webhook_subscription": {"active": True}}
    refused = await h.client.put(f"/webhook_subscriptions/{filtered['id']}", headers=h.writer, json=on)
    assert refused.status_code == 400 and "its filter's service" in refused.text
    moved = await h.client.put(f"/webhook_subscriptions/{filtered['id']}", headers=h.writer, json={
        "webhook_subscription": {"active": True, "filter": {"type": "account_reference"}}})
    assert moved.status_code == 200 and moved.json()["webhook_subscription"]["active"] is True
