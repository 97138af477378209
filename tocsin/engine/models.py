"""What the engine keeps per incident: the escalation path frozen onto it, the incident's timers
(PagerDuty's ``pending_actions``), plus a few engine-wide cursors.

Every pending action is a row with a due time, written in the transaction of the change that
implies it (``tocsin.engine.planner``), so a restart or a crashed process never loses one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn

# IncidentTimer.kind: exactly PagerDuty's pending action types.
ESCALATE = "escalate"
UNACKNOWLEDGE = "unacknowledge"  # acknowledgement timeout or the end of a snooze
RESOLVE = "resolve"  # the service's auto-resolve timeout
URGENCY_CHANGE = "urgency_change"  # support hours begin: low urgency is raised to high
TIMER_KINDS = (ESCALATE, UNACKNOWLEDGE, RESOLVE, URGENCY_CHANGE)


class IncidentEscalation(Base):
    """The escalation an open incident runs: its policy's rules as they were when it started
    (editing the policy later changes no running escalation), and where it stands."""

    __tablename__ = "incident_escalations"
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    policy_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    # {"num_loops": int, "rules": [{"id", "delay_minutes", "strategy", "targets": [{"type", "id"}]}]}
    path: Mapped[dict[str, Any]]
    # How many times the whole path was repeated so far (0 ≤ loop ≤ num_loops).
    loop: Mapped[int] = mapped_column(Integer, default=0)
    exhausted: Mapped[bool] = mapped_column(default=False)
    # The current level's start: its escalation delay counts from here.
    level_started_at: Mapped[datetime]
    # When the incident was (re)opened: the auto-resolve timeout counts from here.
    opened_at: Mapped[datetime]
    # Set when assignees must be told again without a new assignment (acknowledgement timeout,
    # snooze end, urgency raised); notification rules count from max(assignment, this).
    renotify_at: Mapped[datetime | None] = mapped_column(default=None)


class IncidentTimer(Base):
    """One pending action of an open incident; at most one per kind."""

    __tablename__ = "incident_timers"
    __table_args__ = (Index("ix_incident_timers_kind_due_at", "kind", "due_at"),)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    due_at: Mapped[datetime]


class RoundRobinPosition(Base):
    """Where a round-robin escalation rule hands the next incident (index into its on-call users)."""

    __tablename__ = "round_robin_positions"
    rule_id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    next_index: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class EngineCursor(Base):
    """An engine-wide high-water mark (e.g. the on-call handoff step's last instant examined)."""

    __tablename__ = "engine_cursors"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime]
