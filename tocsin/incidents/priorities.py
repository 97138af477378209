"""Priorities as configuration: the admin's create and update (a Tocsin extension), each with
its audit record in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.errors import AccessDenied
from tocsin.ids import new_id
from tocsin.incidents.models import Priority
from tocsin.incidents.queries import get_priority
from tocsin.incidents.schemas import PriorityCreate, PriorityFields

ADMIN_ROLES = frozenset({"admin", "owner"})


@dataclass(frozen=True)
class Editor:
    """Who is changing priorities: the credential's role and user (None, None for an account key)."""

    role: str | None
    user_id: str | None
    audit: Actor


def _require_admin(editor: Editor) -> None:
    """Priorities are account configuration: user keys must belong to an admin or owner
    (account keys act for the account)."""
    if editor.user_id is not None and editor.role not in ADMIN_ROLES:
        raise AccessDenied(errors=["Only an admin or owner may change priorities"])


def priority_snapshot(priority: Priority) -> dict[str, Any]:
    return {"name": priority.name, "description": priority.description, "color": priority.color,
            "order": priority.position}


async def create_priority(session: AsyncSession, editor: Editor, data: PriorityCreate, at: datetime) -> Priority:
    """The new priority ranks below the existing ones."""
    _require_admin(editor)
    last = (await session.execute(select(Priority.position).order_by(Priority.position.desc()).limit(1))).scalar()
    priority = Priority(id=new_id(), name=data.name, description=data.description,
                        color=data.color.lower() if data.color else None, position=(last or 0) + 1,
                        created_at=at, updated_at=at)
    session.add(priority)
    await session.flush()
    record(session, editor.audit, action="create", resource_type="priority", resource_id=priority.id,
           summary=priority.name, after=priority_snapshot(priority), at=at)
    return priority


async def update_priority(
    session: AsyncSession, editor: Editor, priority_id: str, data: PriorityFields, at: datetime,
) -> Priority:
    _require_admin(editor)
    priority = await get_priority(session, priority_id)
    before = priority_snapshot(priority)
    sent = data.model_fields_set
    if "name" in sent and data.name is not None:
        priority.name = data.name
    if "description" in sent:
        priority.description = data.description
    if "color" in sent:
        priority.color = data.color.lower() if data.color else None
    priority.updated_at = at
    await session.flush()
    record(session, editor.audit, action="update", resource_type="priority", resource_id=priority.id,
           summary=priority.name, before=before, after=priority_snapshot(priority), at=at)
    return priority
