"""Reads (and the one get-or-create) of the notifications domain that others may use."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tocsin.incidents.models import Incident
from tocsin.notifications.models import FAILED, SENT, InstanceSecret, Notification

LINK_SECRET = "action_links"


def instance_secret(session: Session, name: str, now: datetime) -> bytes:
    """The instance's secret ``name`` (32 random bytes), made on first use and shared by every
    process on the database (two processes making it at once: the second insert loses and reads
    the first)."""
    found = session.scalar(select(InstanceSecret.value).where(InstanceSecret.name == name))
    if found is None:
        try:
            with session.begin_nested():
                session.add(InstanceSecret(name=name, value=secrets.token_hex(32), created_at=now))
        except IntegrityError:
            pass
        found = session.scalar(select(InstanceSecret.value).where(InstanceSecret.name == name))
    assert found is not None
    return bytes.fromhex(found)


def link_secret(session: Session, now: datetime) -> bytes:
    """The instance's action-link signing key."""
    return instance_secret(session, LINK_SECRET, now)


# --- the notification list (GET /notifications) ----------------------------------------------

# Only sends that were attempted are notifications in PagerDuty's sense: pending, cancelled and
# suppressed rows never reached anyone.
ATTEMPTED = (SENT, FAILED)


def started_at(notification: Notification) -> datetime:
    """When the notification went out: the accepted send, else the last (failed) attempt."""
    return notification.sent_at or notification.updated_at


def _started_at_column() -> ColumnElement[datetime]:
    return func.coalesce(Notification.sent_at, Notification.updated_at)


def attempted_between(since: datetime, until: datetime | None, channel: str | None = None) -> Select[Any]:
    """Notifications sent or failed in [since, until) (no end: until now), optionally of one
    channel, oldest first."""
    started = _started_at_column()
    query = select(Notification).where(Notification.status.in_(ATTEMPTED), started >= since)
    if until is not None:
        query = query.where(started < until)
    if channel is not None:
        query = query.where(Notification.channel == channel)
    return query.order_by(started, Notification.id)


async def incident_labels(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, tuple[int, str]]:
    """(number, title) of each incident named (what a reference to it shows)."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = await session.execute(select(Incident.id, Incident.number, Incident.title).where(Incident.id.in_(wanted)))
    return {incident_id: (number, title) for incident_id, number, title in rows}
