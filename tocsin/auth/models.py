from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
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
    # Profile fields (migration 0004). A deleted user keeps its row (incidents, log entries and
    # audit records still name it) and its email stays reserved by the unique constraint.
    job_title: Mapped[str | None] = mapped_column(String(100), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    color: Mapped[str | None] = mapped_column(String(32), default=None)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


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
    # The secret's last 4 characters (migration 0007), as audit records show it; None for keys
    # issued before that.
    truncated_token: Mapped[str | None] = mapped_column(String(8), default=None)


class OAuthClient(Base):
    """An OAuth 2.0 client (client credentials grant); ``id`` is its ``client_id``.

    Only the SHA-256 digest of the secret is stored; ``scopes`` bounds what its tokens may carry.
    """

    __tablename__ = "oauth_clients"
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthToken(Base):
    """A short-lived bearer token issued to a client; only its digest is stored."""

    __tablename__ = "oauth_tokens"
    # Expired tokens are swept by expiry when new ones are issued.
    __table_args__ = (Index("ix_oauth_tokens_expires_at", "expires_at"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.id"))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
