from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn

# The `sequences` row incident numbers are taken from (events and REST alike; unique across nodes).
INCIDENT_NUMBERS = "incident_number"

# IncidentTimer.kind: exactly PagerDuty's pending action types.
ESCALATE = "escalate"
UNACKNOWLEDGE = "unacknowledge"  # acknowledgement timeout or the end of a snooze
RESOLVE = "resolve"  # the service's auto-resolve timeout
URGENCY_CHANGE = "urgency_change"  # support hours begin: low urgency is raised to high
TIMER_KINDS = (ESCALATE, UNACKNOWLEDGE, RESOLVE, URGENCY_CHANGE)

class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_created_at", "created_at"),
        Index("ix_incidents_incident_key", "incident_key"),
        # The incident list's filters, each ending in the default sort (migration 0011 says why).
        Index("ix_incidents_status_created_at", "status", "created_at"),
        Index("ix_incidents_service_created_at", "service_id", "created_at"),
        Index("ix_incidents_policy_created_at", "escalation_policy_id", "created_at"),
    )
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(8))
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"))
    incident_key: Mapped[str | None] = mapped_column(String(255), default=None)
    escalation_policy_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    priority_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    # [{"at": iso, "acknowledger": {"id", "type"}}]; small and always read with the incident.
    acknowledgements: Mapped[list[Any]] = mapped_column(default=list)
    assignments: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_status_change_at: Mapped[datetime]
    last_status_change_by: Mapped[dict[str, Any]]
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    # The policy level the incident is at (1-based); REST escalation moves it, the engine later.
    escalation_level: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # Set by POST /incidents/{id}/snooze; when it passes the incident re-triggers (the engine
    # runs that timer in the next issue; until then reads treat a passed snooze as over).
    snoozed_until: Mapped[datetime | None] = mapped_column(default=None)
    merged_into_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    # body.details of an incident created through REST (events keep theirs on the alert).
    details: Mapped[str | None] = mapped_column(Text, default=None)
    conference_bridge: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class IncidentAssignment(Base):
    """Who an open incident is assigned to, one row per user: ``user_ids[]`` filters in SQL on
    both databases. ``Incident.assignments`` keeps the rendered list; both are written together
    by ``tocsin.incidents.logic.set_assignments``."""

    __tablename__ = "incident_assignments"
    __table_args__ = (Index("ix_incident_assignments_user_id", "user_id"),)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    at: Mapped[datetime]


class IncidentNote(Base):
    __tablename__ = "incident_notes"
    __table_args__ = (Index("ix_incident_notes_incident_id", "incident_id", "created_at"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    user_id: Mapped[str] = mapped_column(IdColumn)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Priority(Base):
    """Incident priorities; ``position`` 1 is the highest (P1)."""

    __tablename__ = "priorities"
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    color: Mapped[str | None] = mapped_column(String(16), default=None)
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        # The dedup rule lives in the database: at most one open alert per key per integration.
        Index(
            "uq_alerts_open_dedup_key",
            "integration_id",
            "dedup_key",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_alerts_incident_id", "incident_id"),
    )
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"))
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"))
    dedup_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)


class LogEntry(Base):
    __tablename__ = "log_entries"
    __table_args__ = (
        Index("ix_log_entries_incident_id", "incident_id", "created_at"),
        Index("ix_log_entries_created_at", "created_at"),
    )
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    type: Mapped[str] = mapped_column(String(48))
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    alert_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    service_id: Mapped[str] = mapped_column(IdColumn)
    created_at: Mapped[datetime]
    summary: Mapped[str] = mapped_column(Text)
    agent: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    channel: Mapped[dict[str, Any]]


class IncidentTimer(Base):
    """One pending action of an open incident; at most one per kind. Written by the engine's
    planner (``tocsin.engine.planner``) in the transaction of the change that implies it; kept
    here, with the incident, because the incident's ``pending_actions`` show them."""

    __tablename__ = "incident_timers"
    __table_args__ = (Index("ix_incident_timers_kind_due_at", "kind", "due_at"),)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    due_at: Mapped[datetime]
