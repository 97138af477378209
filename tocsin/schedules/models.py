"""ORM models of schedules: schedules, layer versions, their ordered users, and overrides.

A layer is never edited in place once it has mattered: a change ends the current *version* at
the moment of the edit and starts a new version (same ``layer_id``, new row) from then on, so
rendering the past gives what was on call then. ``superseded_at`` marks versions that are no
longer the layer's current definition (replaced or removed); they still render their past.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
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
