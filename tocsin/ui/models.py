"""What signing in to the web UI stores: passwords, sessions, login throttling and the
single-use links (invitation, password reset).

Only digests are stored: Argon2 for passwords (slow on purpose), SHA-256 for the random session
and link secrets (long random strings need no stretching, as API keys). Rows belong to users of
``tocsin.auth.models.User``; a deleted user's sessions stop working with it (checked on each
request), so no cascade is needed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn

# AccountLink.purpose
INVITATION = "invitation"
RESET = "reset"


class UserPassword(Base):
    __tablename__ = "ui_passwords"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    hash: Mapped[str] = mapped_column(String(255))  # Argon2id, with its parameters and salt
    updated_at: Mapped[datetime]


class UiSession(Base):
    """One signed-in browser. The cookie carries the secret (signed); the row its digest, so a
    leaked table gives no usable session, and signing out or a new password ends sessions."""

    __tablename__ = "ui_sessions"
    __table_args__ = (Index("ix_ui_sessions_user_id", "user_id"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class LoginThrottle(Base):
    """Failed sign-ins of one key (``account:<email>`` or ``address:<ip>``), kept across restarts
    and shared by every process: ``tocsin.ui.throttle`` decides from these columns."""

    __tablename__ = "ui_login_throttle"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class AccountLink(Base):
    """A set-password link sent by email: signed, expiring, and used once (``used_at``)."""

    __tablename__ = "ui_account_links"
    __table_args__ = (Index("ix_ui_account_links_user_id", "user_id"),)
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
