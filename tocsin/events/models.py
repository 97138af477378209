from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn


class InboxEvent(Base):
    """An accepted event waiting to be processed. Written by the group commit before the 202,
    deleted by the processor in the same transaction that applies it: exactly-once."""

    __tablename__ = "event_inbox"
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    integration_id: Mapped[str] = mapped_column(IdColumn)
    received_at: Mapped[datetime]
    event: Mapped[dict[str, Any]]
    # An event that fails on its own is retried a few times, then left here as a dead letter
    # (never silently dropped) for an operator to inspect.
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


# Change events are shown for 90 days (``GET /change_events`` hides older ones) and then deleted
# by ``tocsin.events.retention``.
CHANGE_EVENT_RETENTION = timedelta(days=90)


class ChangeEvent(Base):
    __tablename__ = "change_events"
    __table_args__ = (Index("ix_change_events_timestamp", "timestamp"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    integration_id: Mapped[str] = mapped_column(IdColumn)
    service_id: Mapped[str] = mapped_column(IdColumn)
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text, default=None)
    timestamp: Mapped[datetime]
    custom_details: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    links: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
