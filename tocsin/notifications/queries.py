"""Reads (and the one get-or-create) of the notifications domain that others may use."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.notifications.models import InstanceSecret

LINK_SECRET = "action_links"


def link_secret(session: Session, now: datetime) -> bytes:
    """The instance's action-link signing key, made on first use and shared by every process on
    the database (two processes making it at once: the second insert loses and reads the first)."""
    found = session.scalar(select(InstanceSecret.value).where(InstanceSecret.name == LINK_SECRET))
    if found is None:
        try:
            with session.begin_nested():
                session.add(InstanceSecret(name=LINK_SECRET, value=secrets.token_hex(32), created_at=now))
        except IntegrityError:
            pass
        found = session.scalar(select(InstanceSecret.value).where(InstanceSecret.name == LINK_SECRET))
    assert found is not None
    return bytes.fromhex(found)
