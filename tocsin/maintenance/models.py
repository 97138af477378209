"""Maintenance windows: while one is open on a service, its events open no incident.

See ``tocsin.maintenance.rule`` for the rule itself.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn


class MaintenanceWindow(Base):
    __tablename__ = "maintenance_windows"
    # The processor asks "which windows are open now" once per batch: end_time bounds the scan.
    __table_args__ = (Index("ix_maintenance_windows_end_time", "end_time"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    sequence_number: Mapped[int] = mapped_column(unique=True)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Deleting a future window hides it; the row stays so audit records still resolve.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class MaintenanceWindowService(Base):
    __tablename__ = "maintenance_window_services"
    __table_args__ = (Index("ix_maintenance_window_services_service_id", "service_id", "window_id"),)
    window_id: Mapped[str] = mapped_column(ForeignKey("maintenance_windows.id"), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), primary_key=True)


# How long a suppressed trigger is kept, counted from ``suppressed_at`` (the processing time).
# Older ones are deleted in small batches by the events worker's retention sweep
# (``queries.prune_suppressed``), so the table cannot grow without bound.
SUPPRESSED_EVENT_RETENTION = timedelta(days=90)


class SuppressedEvent(Base):
    """A trigger that arrived while its service was in maintenance and so opened no incident.

    Kept whole (payload included) so operators can see what maintenance hid, for
    ``SUPPRESSED_EVENT_RETENTION`` after it was suppressed.
    """

    __tablename__ = "maintenance_suppressed_events"
    __table_args__ = (
        Index("ix_maintenance_suppressed_events_window_id", "window_id", "received_at"),
        # The retention sweep finds expired rows by age.
        Index("ix_maintenance_suppressed_events_suppressed_at", "suppressed_at"),
    )
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    window_id: Mapped[str] = mapped_column(ForeignKey("maintenance_windows.id"))
    service_id: Mapped[str] = mapped_column(IdColumn)
    integration_id: Mapped[str] = mapped_column(IdColumn)
    dedup_key: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str | None] = mapped_column(Text, default=None)
    severity: Mapped[str | None] = mapped_column(String(16), default=None)
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    # The processing time the rule was judged at (the runtime clock), which decides maintenance.
    suppressed_at: Mapped[datetime]
