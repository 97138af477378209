"""Webhook subscriptions, deliveries and attempts -> PagerDuty-shaped JSON.

Custom header values are always shown as ``-- redacted --`` and the secret as null: the secret is
shown once, in the answer to the create (and to a rotation, a Tocsin extension)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tocsin.http.refs import iso
from tocsin.webhooks.models import Delivery, DeliveryAttempt, Destination, WebhookSubscription

REDACTED = "-- redacted --"


def subscription_json(destination: Destination, subscription: WebhookSubscription, *,
                      secret: str | None = None) -> dict[str, Any]:
    filter_: dict[str, Any] = {"type": subscription.filter_type}
    if subscription.filter_id is not None:
        filter_["id"] = subscription.filter_id
    return {
        "id": destination.id,
        "type": "webhook_subscription",
        "active": destination.active,
        "delivery_method": {
            "id": subscription.delivery_method_id,
            "type": "http_delivery_method",
            "url": destination.url,
            "secret": secret,
            "temporarily_disabled": destination.temporarily_disabled,
            "custom_headers": [{"name": h["name"], "value": REDACTED} for h in subscription.custom_headers],
        },
        "description": subscription.description,
        "events": list(subscription.events),
        "filter": filter_,
        # Tocsin's additions: why it was switched off, and until when a rotated secret still signs.
        "disabled_reason": destination.disabled_reason,
        "previous_secret_expires_at": iso(subscription.previous_secret_until),
    }


def attempt_json(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {"attempted_at": iso(attempt.attempted_at), "status_code": attempt.status_code,
            "latency_ms": attempt.latency_ms, "error": attempt.error, "outcome": attempt.outcome}


def delivery_json(delivery: Delivery, attempts: list[DeliveryAttempt]) -> dict[str, Any]:
    """A delivery (Tocsin extension): its id is the ``X-Webhook-Id`` every attempt carried."""
    return {
        "id": delivery.id,
        "type": "webhook_delivery",
        "event": {"id": delivery.event_id, "event_type": delivery.event_type},
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": iso(delivery.created_at),
        "next_attempt_at": iso(delivery.due_at) if delivery.status == "pending" else None,
        "finished_at": iso(delivery.finished_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "attempt_log": [attempt_json(a) for a in attempts],
    }


def relay_json(kind_type: str, destination: Destination, service_id: str, description: str | None,
               actions: list[str], urgencies: list[Any] | None,
               acting_user_id: str | None = None) -> dict[str, Any]:
    """A forwarder or chat webhook (Tocsin extension). A chat webhook's URL holds its token (as
    Slack's do), so only its scheme and host are shown; a forwarder's integration key never is."""
    shown = destination.url
    if kind_type == "chat_webhook":
        parts = urlsplit(destination.url)
        shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/{REDACTED}"
    found: dict[str, Any] = {
        "id": destination.id, "type": kind_type, "service": {"id": service_id, "type": "service_reference"},
        "url": shown, "description": description, "events": actions, "urgencies": urgencies,
        "active": destination.active, "temporarily_disabled": destination.temporarily_disabled,
        "disabled_reason": destination.disabled_reason,
        "created_at": iso(destination.created_at), "updated_at": iso(destination.updated_at),
    }
    if kind_type == "chat_webhook":
        found["acting_user"] = {"id": acting_user_id, "type": "user_reference"} if acting_user_id else None
    if kind_type == "forwarder":
        found["integration_key"] = REDACTED
    return found
