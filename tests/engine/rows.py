"""Rows the engine looks at, written straight into the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.ids import new_id
from tocsin.notifications.models import EMAIL, PENDING, TEST, Notification


def notification(due_at: datetime, *, status: str = PENDING, key: str | None = None) -> Notification:
    nid = new_id()
    return Notification(id=nid, key=key or f"test:{nid}", kind=TEST, user_id="PUSER01", channel=EMAIL,
                        address="oncall@example.com", status=status, due_at=due_at, attempts=0,
                        created_at=due_at, updated_at=due_at)


async def add_notifications(session: AsyncSession, *due_times: datetime, status: str = PENDING) -> list[str]:
    rows = [notification(at, status=status) for at in due_times]
    session.add_all(rows)
    await session.flush()
    return [row.id for row in rows]
