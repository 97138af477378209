"""Shared by the webhook tests: subscriptions over REST, and reads of what the outbox stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.conftest import Harness
from tocsin.engine.deliver import WebhookStep
from tocsin.notifications.models import NOTICE, Notification
from tocsin.webhooks.models import Delivery, OutboundEvent

ALL_INCIDENT_EVENTS = [
    "incident.triggered", "incident.acknowledged", "incident.unacknowledged", "incident.resolved",
    "incident.reopened", "incident.escalated", "incident.reassigned", "incident.delegated", "incident.annotated",
    "incident.priority_updated", "incident.conference_bridge.updated",
]


def subscription_body(url: str, *, events: list[str] | None = None, filter_: dict[str, Any] | None = None,
                      headers: list[dict[str, str]] | None = None, **fields: Any) -> dict[str, Any]:
    return {"webhook_subscription": {
        "type": "webhook_subscription",
        "delivery_method": {"type": "http_delivery_method", "url": url, "custom_headers": headers or []},
        "description": "to the receiver", "events": ALL_INCIDENT_EVENTS if events is None else events,
        "filter": filter_ or {"type": "account_reference"}, **fields}}


async def subscribe(h: Harness, url: str, **kwargs: Any) -> dict[str, Any]:
    """POST /webhook_subscriptions; the created subscription (with its secret)."""
    r = await h.client.post("/webhook_subscriptions", headers=h.writer, json=subscription_body(url, **kwargs))
    assert r.status_code == 200, r.text
    created: dict[str, Any] = r.json()["webhook_subscription"]
    return created


async def deliveries(h: Harness, subscription_id: str | None = None) -> list[tuple[Delivery, OutboundEvent]]:
    """Every delivery (of one subscription), in order, with its event."""
    async with h.tocsin.db.transaction() as session:
        query = select(Delivery, OutboundEvent).join(OutboundEvent, OutboundEvent.id == Delivery.event_id)
        if subscription_id is not None:
            query = query.where(Delivery.destination_id == subscription_id)
        return [(d, e) for d, e in (await session.execute(query.order_by(Delivery.seq))).all()]


async def notices(h: Harness) -> list[Notification]:
    async with h.tocsin.db.transaction() as session:
        return list((await session.scalars(select(Notification).where(Notification.kind == NOTICE)
                                           .order_by(Notification.created_at, Notification.address))).all())


def webhook_step(h: Harness) -> WebhookStep:
    found = next(s for s in h.tocsin.engine.steps if s.name == "webhooks")
    assert isinstance(found, WebhookStep)
    return found


async def deliver(h: Harness, *, rounds: int = 100) -> int:
    """Run the engine (every step, ``tick``) and let the webhook sends it started finish, until a
    round claims no delivery at the clock's time; how many deliveries were claimed."""
    step = webhook_step(h)
    claimed = 0
    for _ in range(rounds):
        summary = await h.tocsin.engine.tick()
        await step.settle()
        claimed += summary.done["webhooks"]
        if summary.done["webhooks"] == 0:
            return claimed
    raise AssertionError("deliveries never settled")
