"""Outbound destinations, the events they are sent, and every delivery and attempt.

A *destination* is anything Tocsin POSTs changes to: today a PagerDuty v3 webhook subscription
(``kind`` "webhook", its own settings in ``webhook_subscriptions``); later an upstream Events API
or a chat webhook, each with a settings table of its own keyed by the destination's id. What they
share lives here and in the delivery machinery (``tocsin.webhooks.delivery``): whether the
destination is on (``active``) and not switched off for failing (``temporarily_disabled``), its
queue of deliveries with retries, each attempt, and the failure-rate rule that disables it.

An *event* (``outbound_events``) is one change rendered once, as the exact JSON body a v3 webhook
receiver gets; a *delivery* sends one event to one destination and keeps its ``X-Webhook-Id``
(``id``) across retries. Deliveries of one ``stream`` (an incident, a service, a ping) to one
destination go out in ``seq`` order: a delivery waits while an earlier one of its stream is
pending. Secrets and custom header values are stored encrypted (``tocsin.webhooks.vault``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn

# Destination.kind
WEBHOOK = "webhook"
FORWARDER = "forwarder"  # a service's incidents, as Events API v2 events, to an upstream Events API
CHAT = "chat"  # a service's incidents, as Slack-compatible messages, to a chat incoming webhook

# Delivery.status
PENDING = "pending"  # waiting for due_at: the first attempt, a retry, or leased by a sender
DELIVERED = "delivered"  # the receiver answered 2xx
FAILED = "failed"  # given up: retries exhausted, or a 4xx other than 429 dropped it
DROPPED = "dropped"  # never finished: the destination was disabled, deactivated or deleted first
FINISHED = (DELIVERED, FAILED, DROPPED)

# DeliveryAttempt.outcome
RETRY = "retry"  # failed, another attempt is scheduled

# Ids of events and deliveries are UUIDs, as PagerDuty's v3 event ids and X-Webhook-Id are.
UUID_LENGTH = 36
Seq = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: an INTEGER PRIMARY KEY is the rowid


class Destination(Base):
    __tablename__ = "outbound_destinations"
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    temporarily_disabled: Mapped[bool] = mapped_column(default=False)
    # Why it was disabled automatically, for the API and the notice (None while enabled).
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # The failure-rate rule counts only deliveries finished since this instant: enabling a
    # disabled destination starts it with a clean slate (else the old failures disable it again).
    judged_since: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookSubscription(Base):
    """PagerDuty's webhook subscription: what it sends (``events``, ``filter``) and how (the
    destination's url, signing secrets, custom headers)."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[str] = mapped_column(ForeignKey("outbound_destinations.id"), primary_key=True)
    delivery_method_id: Mapped[str] = mapped_column(IdColumn)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    events: Mapped[list[Any]] = mapped_column(default=list)
    filter_type: Mapped[str] = mapped_column(String(32))  # account_reference | service_reference | team_reference
    filter_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    # [{"name": str, "value": <encrypted token>}]: names readable, values sealed.
    custom_headers: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(Text)  # encrypted
    # During a rotation's grace period the previous secret signs too (two ``v1=`` values).
    previous_secret: Mapped[str | None] = mapped_column(Text, default=None)  # encrypted
    previous_secret_until: Mapped[datetime | None] = mapped_column(default=None)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(default=None)


class ServiceDestination(Base):
    """A forwarder or a chat webhook: one service's incident changes sent to one URL.

    ``events`` holds the v3 event types the outbox queues for it (the outbox renders every change
    once, as a v3 event; the destination's ``Kind`` turns that body into an Events API v2 event or a
    chat message at send time). ``urgencies``: only incidents of these urgencies (None: all).
    ``routing_key``: a forwarder's upstream integration key, sealed (None for chat)."""

    __tablename__ = "service_destinations"
    __table_args__ = (Index("ix_service_destinations_service_id", "service_id"),)
    id: Mapped[str] = mapped_column(ForeignKey("outbound_destinations.id"), primary_key=True)
    service_id: Mapped[str] = mapped_column(IdColumn)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    events: Mapped[list[Any]] = mapped_column(default=list)
    urgencies: Mapped[list[Any] | None] = mapped_column(default=None)
    routing_key: Mapped[str | None] = mapped_column(Text, default=None)  # encrypted
    # A chat webhook's one-click acknowledge/resolve links act as this user (None: the message
    # only links to the incident, where a reader acts signed in). See ``relay.chat_body``.
    acting_user_id: Mapped[str | None] = mapped_column(IdColumn, default=None)


class OutboundEvent(Base):
    __tablename__ = "outbound_events"
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    body: Mapped[str] = mapped_column(Text)  # the exact JSON a receiver gets (and the signature covers)


class Delivery(Base):
    __tablename__ = "outbound_deliveries"
    __table_args__ = (
        # Claiming: pending rows by due time (a partial index: finished rows never slow it down).
        Index("ix_outbound_deliveries_pending_due", "due_at",
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        # Order: is an earlier delivery of this stream still pending?
        Index("ix_outbound_deliveries_pending_stream", "destination_id", "stream", "seq",
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        # The failure-rate window, and the deliveries list.
        Index("ix_outbound_deliveries_destination_finished", "destination_id", "finished_at"),
        Index("ix_outbound_deliveries_destination_seq", "destination_id", "seq"),
        Index("ix_outbound_deliveries_event_id", "event_id"),
        # Retention: finished deliveries by age (pending ones have no finished_at).
        Index("ix_outbound_deliveries_finished_at", "finished_at"),
    )
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), unique=True)  # X-Webhook-Id
    destination_id: Mapped[str] = mapped_column(ForeignKey("outbound_destinations.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("outbound_events.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class DeliveryAttempt(Base):
    __tablename__ = "outbound_attempts"
    __table_args__ = (Index("ix_outbound_attempts_delivery_seq", "delivery_seq", "attempted_at"),)
    id: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    delivery_seq: Mapped[int] = mapped_column(ForeignKey("outbound_deliveries.seq"))
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    outcome: Mapped[str] = mapped_column(String(16))  # delivered | retry | failed
