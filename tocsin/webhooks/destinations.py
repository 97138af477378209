"""Kinds of destination: how a claimed delivery becomes one HTTP request.

The delivery machinery (``delivery``) is the same for every kind: claiming in order, sending,
judging the answer (``retry.judge``), the retry schedule, every attempt recorded, the failure-rate
rule and the admins' notice. What differs is the request: a v3 webhook POSTs the event's stored
body, signed, with its subscription's headers; a forwarder POSTs an Events API v2 event made from
the stored body to its upstream Events API (``relay.events_api_body``); a chat webhook a
Slack-compatible message (``relay.chat_body``). Each
kind implements ``Kind.prepare`` for a batch of its claimed deliveries (a fixed number of
statements for the batch) and is listed in ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.notifications.links import ACKNOWLEDGE, RESOLVE, action_url
from tocsin.notifications.queries import link_secret
from tocsin.webhooks import relay
from tocsin.webhooks.models import CHAT, FORWARDER, WEBHOOK, OutboundEvent, ServiceDestination, WebhookSubscription
from tocsin.webhooks.request import OutboundRequest, webhook_request
from tocsin.webhooks.vault import SealBroken, Vault


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this engine holds (leased until ``leased_until``) and will attempt once."""

    seq: int
    id: str  # X-Webhook-Id
    destination_id: str
    kind: str
    url: str
    event_id: str
    attempts: int  # made before this one
    leased_until: datetime


class Kind(Protocol):
    def prepare(self, session: Session, vault: Vault, now: datetime,
                claimed: Sequence[Claimed]) -> dict[int, OutboundRequest | str]:
        """Each delivery's request by ``seq``, or why it cannot be made (sent nowhere, failed)."""
        ...


class WebhookKind:
    """PagerDuty v3 webhooks: the stored event body, signed with every live secret of the
    subscription (two during a rotation's grace period), with its custom headers."""

    def prepare(self, session: Session, vault: Vault, now: datetime,
                claimed: Sequence[Claimed]) -> dict[int, OutboundRequest | str]:
        if not claimed:
            return {}
        settings = {s.id: s for s in session.scalars(select(WebhookSubscription).where(
            WebhookSubscription.id.in_(sorted({c.destination_id for c in claimed}))))}
        bodies: dict[str, str] = dict(session.execute(
            select(OutboundEvent.id, OutboundEvent.body).where(
                OutboundEvent.id.in_(sorted({c.event_id for c in claimed})))).all())
        opened: dict[str, tuple[list[str], list[tuple[str, str]]] | str] = {}
        for destination_id, sub in settings.items():
            try:
                secrets = [vault.open(sub.secret)]
                if sub.previous_secret and sub.previous_secret_until and sub.previous_secret_until > now:
                    secrets.append(vault.open(sub.previous_secret))
                headers = [(str(h["name"]), vault.open(str(h["value"]))) for h in sub.custom_headers]
                opened[destination_id] = (secrets, headers)
            except SealBroken as exc:
                opened[destination_id] = str(exc)
        found: dict[int, OutboundRequest | str] = {}
        for c in claimed:
            keys = opened.get(c.destination_id, "the webhook subscription's settings are gone")
            body = bodies.get(c.event_id)
            if isinstance(keys, str):
                found[c.seq] = keys
            elif body is None:
                found[c.seq] = "the event is gone"
            else:
                secrets, headers = keys
                found[c.seq] = webhook_request(c.url, body.encode(), delivery_id=c.id, subscription_id=c.destination_id,
                                               secrets=secrets, custom_headers=headers)
        return found


def _bodies(session: Session, claimed: Sequence[Claimed]) -> dict[str, str]:
    return dict(session.execute(select(OutboundEvent.id, OutboundEvent.body).where(
        OutboundEvent.id.in_(sorted({c.event_id for c in claimed})))).all())


class ForwarderKind:
    """An upstream Events API v2: the event made from the stored body, with the forwarder's
    (sealed) integration key as ``routing_key``."""

    def prepare(self, session: Session, vault: Vault, now: datetime,
                claimed: Sequence[Claimed]) -> dict[int, OutboundRequest | str]:
        if not claimed:
            return {}
        keys: dict[str, str | None] = dict(session.execute(
            select(ServiceDestination.id, ServiceDestination.routing_key).where(
                ServiceDestination.id.in_(sorted({c.destination_id for c in claimed})))).all())
        bodies = _bodies(session, claimed)
        found: dict[int, OutboundRequest | str] = {}
        for c in claimed:
            sealed, body = keys.get(c.destination_id), bodies.get(c.event_id)
            if sealed is None:
                found[c.seq] = "the forwarder's settings are gone"
            elif body is None:
                found[c.seq] = "the event is gone"
            else:
                try:
                    found[c.seq] = relay.forwarder_request(c.url, body, vault.open(sealed), c.id)
                except SealBroken as exc:
                    found[c.seq] = str(exc)
        return found


class ChatKind:
    """A Slack-compatible incoming webhook: a message made from the stored body; with an acting
    user, signed one-click acknowledge/resolve links (``notifications.links``, valid for their
    usual lifetime from the send) that act as that user."""

    def prepare(self, session: Session, vault: Vault, now: datetime,
                claimed: Sequence[Claimed]) -> dict[int, OutboundRequest | str]:
        if not claimed:
            return {}
        bodies = _bodies(session, claimed)
        acting: dict[str, str | None] = dict(session.execute(
            select(ServiceDestination.id, ServiceDestination.acting_user_id).where(
                ServiceDestination.id.in_(sorted({c.destination_id for c in claimed})))).all())
        secret = link_secret(session, now) if any(acting.values()) else b""
        found: dict[int, OutboundRequest | str] = {}
        for c in claimed:
            body, user = bodies.get(c.event_id), acting.get(c.destination_id)
            if body is None:
                found[c.seq] = "the event is gone"
                continue
            links = None
            if user:
                def links(base: str, incident_id: str, user: str = user) -> dict[str, str]:
                    return {a: action_url(base, secret, incident_id=incident_id, user_id=user, action=a, now=now)
                            for a in (ACKNOWLEDGE, RESOLVE)}
            found[c.seq] = relay.chat_request(c.url, body, c.id, links)
        return found


KINDS: dict[str, Kind] = {WEBHOOK: WebhookKind(), FORWARDER: ForwarderKind(), CHAT: ChatKind()}
