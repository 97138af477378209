"""What one v3 webhook delivery sends (pure: no I/O): the body stored with its event, and the
headers PagerDuty's receivers check.

``Content-Type: application/json``, ``User-Agent: PagerDuty-Webhook/V3.0``, ``X-Webhook-Id`` (the
delivery's id, the same on every retry: receivers dedupe by it), ``X-Webhook-Subscription``,
``X-PagerDuty-Signature`` (``signature``), then the subscription's custom headers (their names
cannot shadow these: ``schemas.RESERVED_HEADERS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tocsin.webhooks.signature import signature_header

USER_AGENT = "PagerDuty-Webhook/V3.0"
CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """One POST: where, which headers (in order), which bytes."""

    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def webhook_request(url: str, body: bytes, *, delivery_id: str, subscription_id: str, secrets: Sequence[str],
                    custom_headers: Sequence[tuple[str, str]] = ()) -> OutboundRequest:
    headers = (
        ("Content-Type", CONTENT_TYPE),
        ("User-Agent", USER_AGENT),
        ("X-Webhook-Id", delivery_id),
        ("X-Webhook-Subscription", subscription_id),
        ("X-PagerDuty-Signature", signature_header(body, secrets)),
        *((name, value) for name, value in custom_headers),
    )
    return OutboundRequest(url, headers, body)
