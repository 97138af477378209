"""Maintenance window changes and reads, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.auth.models import User
from tocsin.db import sequences
from tocsin.db.links import linked
from tocsin.errors import InvalidInput, MethodNotAllowed, NotFound
from tocsin.http.refs import iso
from tocsin.ids import new_id
from tocsin.maintenance import rule
from tocsin.maintenance.models import MaintenanceWindow, MaintenanceWindowService
from tocsin.maintenance.schemas import ServiceReferenceIn, WindowCreate, WindowFields
from tocsin.services.models import Service

SEQUENCE = "maintenance_window_number"
RESOURCE = "maintenance_windows"


@dataclass
class Related:
    """What a page of windows refers to, loaded once for the page (``wire`` renders it)."""

    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> name, description, status
    window_services: dict[str, list[str]] = field(default_factory=dict)  # window id -> service ids
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> name, email


async def get_window(session: AsyncSession, window_id: str) -> MaintenanceWindow:
    window = await session.get(MaintenanceWindow, window_id)
    if window is None or window.deleted_at is not None:
        raise NotFound(f"Maintenance window {window_id} not found", errors=["Maintenance window not found"])
    return window


async def service_ids_of(session: AsyncSession, window_ids: Sequence[str]) -> dict[str, list[str]]:
    return await linked(session, MaintenanceWindowService.window_id, MaintenanceWindowService.service_id, window_ids)


async def related(session: AsyncSession, windows: Sequence[MaintenanceWindow]) -> Related:
    """Services and creators of ``windows``, in three queries whatever the page size."""
    window_services = await service_ids_of(session, [w.id for w in windows])
    service_ids = {sid for ids in window_services.values() for sid in ids}
    user_ids = {w.created_by_id for w in windows}
    out = Related(window_services=window_services)
    if service_ids:  # deleted services included: an old window still names them
        for sid, name, description, status in await session.execute(
            select(Service.id, Service.name, Service.description, Service.status).where(Service.id.in_(service_ids))
        ):
            out.services[sid] = {"name": name, "description": description, "status": status}
    if user_ids:
        for uid, name, email in await session.execute(
            select(User.id, User.name, User.email).where(User.id.in_(user_ids))
        ):
            out.users[uid] = {"name": name, "email": email}
    return out


def snapshot(window: MaintenanceWindow, service_ids: Sequence[str]) -> dict[str, Any]:
    """The configurable fields, as the audit trail records them."""
    return {
        "description": window.description,
        "start_time": iso(window.start_time),
        "end_time": iso(window.end_time),
        "services": sorted(service_ids),
    }


async def _live_services(session: AsyncSession, refs: Sequence[ServiceReferenceIn]) -> list[str]:
    wanted = list(dict.fromkeys(r.id for r in refs))  # unique, in the order given
    found = set(
        (await session.execute(
            select(Service.id).where(Service.id.in_(wanted), Service.deleted_at.is_(None))
        )).scalars()
    )
    missing = [sid for sid in wanted if sid not in found]
    if missing:
        raise InvalidInput(errors=[f"maintenance_window.services: service {sid} not found" for sid in missing])
    return wanted


def _settle(
    start: datetime, end: datetime, now: datetime, started_at: datetime | None = None,
) -> tuple[datetime, datetime]:
    try:
        return rule.settle_times(start, end, now, started_at=started_at)
    except rule.InvalidWindow as exc:
        raise InvalidInput(errors=[f"maintenance_window.{exc}"]) from None


async def create_window(
    session: AsyncSession, fields: WindowCreate, creator_id: str, actor: Actor, now: datetime
) -> MaintenanceWindow:
    start, end = _settle(fields.start_time, fields.end_time, now)
    service_ids = await _live_services(session, fields.services)
    (number,) = await session.run_sync(lambda s: sequences.take_sync(s, SEQUENCE))
    window = MaintenanceWindow(
        id=new_id(), sequence_number=number, description=fields.description, start_time=start,
        end_time=end, created_by_id=creator_id, created_at=now, updated_at=now,
    )
    session.add(window)
    session.add_all(MaintenanceWindowService(window_id=window.id, service_id=sid) for sid in service_ids)
    await session.flush()
    record(session, actor, action="create", resource_type=RESOURCE, resource_id=window.id,
           summary=window.description or "", after=snapshot(window, service_ids), at=now)
    return window


async def update_window(
    session: AsyncSession, window_id: str, fields: WindowFields, actor: Actor, now: datetime
) -> MaintenanceWindow:
    window = await get_window(session, window_id)
    if rule.state(window.start_time, window.end_time, now) == "past":
        # PagerDuty documents 400 (not 405) as PUT's refusal; DELETE is the one with 405.
        raise InvalidInput(errors=["maintenance_window: has already ended and can no longer be changed"])
    current_ids = (await service_ids_of(session, [window.id]))[window.id]
    before = snapshot(window, current_ids)
    data = fields.model_dump(exclude_unset=True)
    start, end = _settle(
        data.get("start_time", window.start_time), data.get("end_time", window.end_time), now,
        started_at=window.start_time,
    )
    window.start_time, window.end_time = start, end
    if "description" in data:
        window.description = fields.description
    service_ids = current_ids
    if fields.services is not None:
        service_ids = await _live_services(session, fields.services)
        await session.execute(delete(MaintenanceWindowService).where(MaintenanceWindowService.window_id == window.id))
        session.add_all(MaintenanceWindowService(window_id=window.id, service_id=sid) for sid in service_ids)
    window.updated_at = now
    await session.flush()
    record(session, actor, action="update", resource_type=RESOURCE, resource_id=window.id,
           summary=window.description or "", before=before, after=snapshot(window, service_ids), at=now)
    return window


async def delete_window(session: AsyncSession, window_id: str, actor: Actor, now: datetime) -> None:
    """A future window is removed; an ongoing one ends now; an ended one cannot be deleted."""
    window = await get_window(session, window_id)
    service_ids = (await service_ids_of(session, [window.id]))[window.id]
    before = snapshot(window, service_ids)
    state = rule.state(window.start_time, window.end_time, now)
    if state == "past":
        raise MethodNotAllowed(
            "The maintenance window has already ended and cannot be deleted",
            errors=["A maintenance window that has ended cannot be deleted"],
        )
    if state == "future":
        window.deleted_at = now
        after = None
        action = "delete"
    else:
        window.end_time = now
        after = snapshot(window, service_ids)
        action = "update"
    window.updated_at = now
    await session.flush()
    record(session, actor, action=action, resource_type=RESOURCE, resource_id=window.id,
           summary=window.description or "", before=before, after=after, at=now)


async def related_services(session: AsyncSession, service_ids: set[str]) -> dict[str, str]:
    """Service names by id, deleted services included."""
    if not service_ids:
        return {}
    rows = await session.execute(select(Service.id, Service.name).where(Service.id.in_(service_ids)))
    return dict(rows.all())
