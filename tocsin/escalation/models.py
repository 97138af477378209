"""ORM models of escalation policies: the policy, its ordered rules (levels), each rule's
targets (a user or a schedule) and the teams the policy belongs to.

Policies are soft-deleted (``deleted_at``): incidents keep pointing at the policy they escalated
through. Rules and targets are replaced wholesale on update; a rule keeps its id when the client
sends it back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn


class EscalationPolicy(Base):
    __tablename__ = "escalation_policies"
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    num_loops: Mapped[int] = mapped_column(default=0)
    on_call_handoff_notifications: Mapped[str] = mapped_column(String(32), default="if_has_services")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class EscalationRule(Base):
    """One level of a policy; ``position`` 0 is level 1."""

    __tablename__ = "escalation_rules"
    __table_args__ = (Index("ix_escalation_rules_policy_id", "policy_id", "position"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("escalation_policies.id"))
    position: Mapped[int]
    escalation_delay_in_minutes: Mapped[int]
    # escalation_rule_assignment_strategy.type: assign_to_everyone | round_robin
    assignment_strategy: Mapped[str] = mapped_column(
        String(24), default="assign_to_everyone", server_default="assign_to_everyone")


class EscalationTarget(Base):
    """A rule's target: exactly one of ``user_id`` / ``schedule_id`` (real foreign keys, so a
    target can never point at nothing)."""

    __tablename__ = "escalation_targets"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (schedule_id IS NULL)", name="one_target"),
        Index("ix_escalation_targets_user_id", "user_id"),
        Index("ix_escalation_targets_schedule_id", "schedule_id"),
    )
    rule_id: Mapped[str] = mapped_column(ForeignKey("escalation_rules.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    schedule_id: Mapped[str | None] = mapped_column(ForeignKey("schedules.id"), default=None)


class EscalationPolicyTeam(Base):
    __tablename__ = "escalation_policy_teams"
    __table_args__ = (Index("ix_escalation_policy_teams_team_id", "team_id"),)
    policy_id: Mapped[str] = mapped_column(ForeignKey("escalation_policies.id"), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)


class RoundRobinPosition(Base):
    """Where a round-robin escalation rule hands the next incident (index into its on-call
    users). Keyed by rule id without a foreign key: a running escalation keeps its frozen rule
    (``tocsin.engine.path``) after the policy's rules are replaced."""

    __tablename__ = "round_robin_positions"
    rule_id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    next_index: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
