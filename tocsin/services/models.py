from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (Index("ix_services_escalation_policy_id", "escalation_policy_id"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # No ORM defaults: an explicit None (timeout disabled) must reach the INSERT.
    auto_resolve_timeout: Mapped[int | None]
    acknowledgement_timeout: Mapped[int | None]
    incident_urgency_rule: Mapped[dict[str, Any]]
    support_hours: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # PagerDuty's scheduled_actions: [{type: urgency_change, at: {type: named_time, name:
    # support_hours_start | support_hours_end}, to_urgency: high}]; the engine raises urgency then.
    scheduled_actions: Mapped[list[Any]] = mapped_column(default=list)
    # Checked against tocsin.escalation.queries by the services logic (no FK: see migration 0005).
    escalation_policy_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class Integration(Base):
    __tablename__ = "integrations"
    __table_args__ = (Index("ix_integrations_service_id", "service_id"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"))
    type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    integration_key: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
