"""Write audit records inside the caller's transaction, so a change and its record commit together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.diff import changed_fields
from tocsin.audit.models import AuditRecord
from tocsin.ids import new_id


@dataclass(frozen=True)
class Actor:
    """Who made a change and how (``tocsin.auth.access.audit_actor`` builds one from a credential)."""

    type: str  # "user_reference" | "api_key_reference" | "app_reference"
    id: str
    summary: str = ""
    method_type: str = "api_token"  # "api_token" | "oauth" | "browser" | "other"
    truncated_token: str | None = None
    request_id: str | None = None
    remote_address: str | None = None


SYSTEM = Actor(type="app_reference", id="tocsin", summary="Tocsin", method_type="other")


def record(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    resource_type: str,
    resource_id: str,
    summary: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    at: datetime,
    root: tuple[str, str, str] | None = None,
) -> AuditRecord | None:
    """Add one audit record to ``session`` (not flushed or committed here).

    ``before``/``after`` are plain snapshots of the resource's configurable fields (JSON-able
    values). An update that changed nothing records nothing and returns None. ``root`` is
    (type, id, summary) of the resource the change belongs to when that is not the changed
    resource itself — a contact method's user — so the record is found under that root.
    """
    fields = changed_fields(before, after)
    if action == "update" and not fields:
        return None
    row = AuditRecord(
        id=new_id(),
        execution_time=at,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_summary=actor.summary,
        method_type=actor.method_type,
        truncated_token=actor.truncated_token,
        request_id=actor.request_id,
        remote_address=actor.remote_address,
        root_type=root[0] if root else resource_type,
        root_id=root[1] if root else resource_id,
        root_summary=root[2] if root else summary,
        detail_type=resource_type if root else None,
        detail_id=resource_id if root else None,
        detail_summary=summary if root else None,
        action=action,
        fields=fields,
    )
    session.add(row)
    return row
