"""What the engine keeps per incident: the escalation path frozen onto it, plus a few engine-wide
cursors. The incident's timers (PagerDuty's ``pending_actions``) are ``incidents.models.IncidentTimer``
and the round-robin turns ``escalation.models.RoundRobinPosition``, re-exported here.

Every pending action is a row with a due time, written in the transaction of the change that
implies it (``tocsin.engine.planner``), so a restart or a crashed process never loses one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn

# The timers live with incidents (the incident's ``pending_actions`` read them, and incidents sit
# below the engine) and the round-robin turns with escalation rules; the engine uses both.
from tocsin.escalation.models import RoundRobinPosition as RoundRobinPosition
from tocsin.incidents.models import ESCALATE as ESCALATE
from tocsin.incidents.models import RESOLVE as RESOLVE
from tocsin.incidents.models import TIMER_KINDS as TIMER_KINDS
from tocsin.incidents.models import UNACKNOWLEDGE as UNACKNOWLEDGE
from tocsin.incidents.models import URGENCY_CHANGE as URGENCY_CHANGE
from tocsin.incidents.models import IncidentTimer as IncidentTimer


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


class EngineCursor(Base):
    """An engine-wide high-water mark (e.g. the on-call handoff step's last instant examined)."""

    __tablename__ = "engine_cursors"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime]
