"""ORM models of schedules: schedules, layer versions, their ordered users, overrides, teams.

A layer is never edited in place once it has mattered: a change ends the current *version* at
the moment of the edit and starts a new version (same ``layer_id``, new row) from then on, so
rendering the past gives what was on call then. ``superseded_at`` marks versions that are no
longer the layer's current definition (replaced or removed); they still render their past.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn


class Schedule(Base):
    __tablename__ = "schedules"
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    time_zone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class ScheduleTeam(Base):
    """A team the schedule belongs to (PagerDuty's ``schedule.teams``)."""

    __tablename__ = "schedule_teams"
    __table_args__ = (Index("ix_schedule_teams_team_id", "team_id"),)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id"), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)


class ScheduleLayer(Base):
    """One version of one layer; ``layer_id`` is the id clients see and is stable across edits."""

    __tablename__ = "schedule_layers"
    __table_args__ = (Index("ix_schedule_layers_schedule_id", "schedule_id", "layer_id"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    layer_id: Mapped[str] = mapped_column(IdColumn)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id"))
    position: Mapped[int]  # precedence: a higher position beats a lower one
    name: Mapped[str] = mapped_column(String(255))
    start: Mapped[datetime]
    end: Mapped[datetime | None] = mapped_column(default=None)
    rotation_virtual_start: Mapped[datetime]
    rotation_turn_length_seconds: Mapped[int]
    restrictions: Mapped[list[Any]]
    created_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)
    # IANA zone the restrictions are read in (migration 0009). Changing the schedule's zone
    # starts new versions in the new zone, so the past keeps the zone it was rendered in.
    # None (rows from before 0009 that the backfill could not reach) means the schedule's zone.
    time_zone: Mapped[str | None] = mapped_column(String(64), default=None)


class ScheduleLayerUser(Base):
    """The users of one layer version, in rotation order."""

    __tablename__ = "schedule_layer_users"
    layer_version_id: Mapped[str] = mapped_column(ForeignKey("schedule_layers.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))


class ScheduleOverride(Base):
    __tablename__ = "schedule_overrides"
    __table_args__ = (Index("ix_schedule_overrides_schedule_id", "schedule_id", "start"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    start: Mapped[datetime]
    end: Mapped[datetime]
    created_at: Mapped[datetime]


class CalendarFeed(Base):
    """The secret token of one iCal feed: of a schedule, or of a user (every schedule they are on).

    Whoever holds a feed URL may read that calendar, and nothing else; the feed route is public
    because calendar apps cannot send credentials. The token is kept readable (not hashed) so an
    authenticated user can be shown the URL again, as PagerDuty's ``http_cal_url`` is: it grants
    no more than the database row itself already shows. It is compared in constant time, and
    rotating it makes every copy of the old URL useless.
    """

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        CheckConstraint("(schedule_id IS NULL) <> (user_id IS NULL)", name="one_subject"),
    )
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    schedule_id: Mapped[str | None] = mapped_column(ForeignKey("schedules.id"), unique=True, default=None)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), unique=True, default=None)
    token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None] = mapped_column(default=None)
