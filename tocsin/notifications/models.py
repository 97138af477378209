"""Durable sends to people, and the instance's secrets (for signed action links).

A ``Notification`` row exists before anything is sent: its unique ``key`` names the step it
belongs to (incident, user, notification rule, anchor time), so one step can never produce two
sends, whichever engine process runs it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn

# Notification.status
PENDING = "pending"  # waiting for due_at (first attempt or a retry)
SENT = "sent"  # the provider accepted it
FAILED = "failed"  # given up: permanent error, retries exhausted, or the channel is not configured
CANCELLED = "cancelled"  # no longer wanted (acknowledged, resolved, reassigned away) before it was due
SUPPRESSED = "suppressed"  # due while the service was in maintenance: nobody is paged
FINAL_STATUSES = (SENT, FAILED, CANCELLED, SUPPRESSED)

# Notification.kind
INCIDENT = "incident"  # a notification rule of an assigned user
HANDOFF = "handoff"  # an on-call shift starts or ends
TEST = "test"  # POST /users/{id}/contact_methods/{cm_id}/test
# A notice to the account's admins (a webhook subscription disabled for failing, turned off or
# deleted): ``detail`` holds its subject and lines.
NOTICE = "notice"

# Notification.channel: the contact method type it goes through.
EMAIL = "email"
SMS = "sms"
PHONE = "phone"
PUSH = "push"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_due_at", "status", "due_at"),
        Index("ix_notifications_incident_id", "incident_id"),
        Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
        Index("ix_notifications_created_at", "created_at"),
    )
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    incident_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    user_id: Mapped[str] = mapped_column(IdColumn)
    contact_method_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    rule_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    urgency: Mapped[str | None] = mapped_column(String(8), default=None)
    # What a handoff or test message says (incident messages are rendered from the incident).
    detail: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    # The next attempt's time: the rule's due time, then each retry's.
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # The provider's answer to the last attempt (SMTP reply, Twilio resource id and status ...).
    provider_response: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MessageReceipt(Base):
    """A provider's acceptance of one message, written the moment it arrives, in a transaction of
    its own, before the outcome is recorded on its ``Notification`` rows with the rest of the batch.

    An engine that dies between the two leaves the rows pending; whoever claims one of them next
    finds the receipt and records the send instead of sending it again. The recording transaction
    deletes the receipt. So a page is sent twice only if an engine dies in the instant between the
    provider's answer and this row's commit (a millisecond), not anywhere in a batch's sends.

    One row per message, not per notification: a storm's bundled email carries hundreds of rows,
    and a receipt each (written, then deleted) was a twentieth of PostgreSQL ingest with the
    engine inside."""

    __tablename__ = "message_receipts"
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)  # the message's lead row
    notification_ids: Mapped[list[Any]]  # ids of every row the message carried, the lead first
    accepted_at: Mapped[datetime]
    provider_response: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    bundle: Mapped[str | None] = mapped_column(IdColumn, default=None)  # the lead, for a bundle


class InstanceSecret(Base):
    """Secrets the instance makes for itself on first use (the action-link signing key), shared by
    every process on the database."""

    __tablename__ = "instance_secrets"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
