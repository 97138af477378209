"""Teams and their members."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"), default=None)
    default_role: Mapped[str] = mapped_column(String(16), default="manager")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Soft delete: incidents and policies may still name a deleted team.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class TeamMember(Base):
    """A user's membership of a team, with the role they hold there."""

    __tablename__ = "team_members"
    __table_args__ = (Index("ix_team_members_user_id", "user_id"),)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # observer | responder | manager
    created_at: Mapped[datetime]
