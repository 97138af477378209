"""Priorities as configuration: the admin's create and update (a Tocsin extension)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.ids import new_id
from tocsin.incidents.models import Priority
from tocsin.incidents.queries import get_priority
from tocsin.incidents.schemas import PriorityCreate, PriorityFields


def priority_snapshot(priority: Priority) -> dict[str, Any]:
    return {"name": priority.name, "description": priority.description, "color": priority.color,
            "order": priority.position}


async def create_priority(session: AsyncSession, data: PriorityCreate, at: datetime) -> Priority:
    last = (await session.execute(select(Priority.position).order_by(Priority.position.desc()).limit(1))).scalar()
    priority = Priority(id=new_id(), name=data.name, description=data.description,
                        color=data.color.lower() if data.color else None, position=(last or 0) + 1,
                        created_at=at, updated_at=at)
    session.add(priority)
    await session.flush()
    return priority


async def update_priority(session: AsyncSession, priority_id: str, data: PriorityFields, at: datetime) -> Priority:
    priority = await get_priority(session, priority_id)
    sent = data.model_fields_set
    if "name" in sent and data.name is not None:
        priority.name = data.name
    if "description" in sent:
        priority.description = data.description
    if "color" in sent:
        priority.color = data.color.lower() if data.color else None
    priority.updated_at = at
    await session.flush()
    return priority
