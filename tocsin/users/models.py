"""Users as people: contact methods and notification rules (the profile lives in auth.models.User)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn


class ContactMethod(Base):
    """How to reach a user: an email address, a phone number (voice or SMS) or a push device."""

    __tablename__ = "contact_methods"
    __table_args__ = (
        # One address per user and type: a duplicate would page the same device twice.
        UniqueConstraint("user_id", "type", "address", name="uq_contact_methods_user_type_address"),
    )
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    type: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(320))
    country_code: Mapped[int | None] = mapped_column(Integer, default=None)
    send_short_email: Mapped[bool] = mapped_column(default=False)
    device_type: Mapped[str | None] = mapped_column(String(16), default=None)
    sounds: Mapped[list[Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class NotificationRule(Base):
    """Notify ``contact_method`` ``start_delay_in_minutes`` after an incident of ``urgency`` is assigned."""

    __tablename__ = "notification_rules"
    __table_args__ = (Index("ix_notification_rules_user_id", "user_id"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    contact_method_id: Mapped[str] = mapped_column(ForeignKey("contact_methods.id"))
    start_delay_in_minutes: Mapped[int] = mapped_column(Integer)
    urgency: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
