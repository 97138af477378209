from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(32), default="user")
    time_zone: Mapped[str] = mapped_column(String(64), default="Etc/UTC")
    created_at: Mapped[datetime]


class ApiKey(Base):
    """An API key; only the SHA-256 digest of the secret is stored."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "account" | "user"
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    read_only: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
