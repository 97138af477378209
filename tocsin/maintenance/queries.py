"""The maintenance domain's public surface for other domains (events processor, incidents).

The processor's functions are synchronous (it runs in a writer thread or ``run_sync``) and cost
one query per batch, never one per event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import CursorResult, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tocsin.db.base import table_of
from tocsin.db.id_lists import one_of
from tocsin.ids import new_id
from tocsin.maintenance.models import (
    SUPPRESSED_EVENT_RETENTION,
    MaintenanceWindow,
    MaintenanceWindowService,
    SuppressedEvent,
)
from tocsin.maintenance.rule import Hold, hold_back

# The key under which ``mark_maintenance`` puts a ``Hold`` into a service-facts dict.
HOLD = "maintenance_hold"


# Service id -> a window open on it at ``at``: built once, on the tables (the events processor
# runs it every batch, where building it cost more than running it).
_MW, _MWS = table_of(MaintenanceWindow).c, table_of(MaintenanceWindowService).c
_OPEN_WINDOWS = (
    select(_MWS.service_id, _MW.id)
    .join_from(table_of(MaintenanceWindowService), table_of(MaintenanceWindow), _MW.id == _MWS.window_id)
    .where(one_of(_MWS.service_id, name="services"), _MW.deleted_at.is_(None),
           _MW.start_time <= bindparam("at"), _MW.end_time > bindparam("at"))
    .order_by(_MW.sequence_number.desc())  # first-created wins below
)


def mark_maintenance(session: Session, services: Iterable[dict[str, Any]], at: datetime) -> None:
    """Put a ``Hold`` under ``HOLD`` into each service-facts dict whose service has a window open
    at ``at`` (one query for the whole batch)."""
    services = list(services)
    ids = {s["id"] for s in services}
    if not ids:
        return
    holding = dict(session.connection().execute(_OPEN_WINDOWS, {"services": list(ids), "at": at}).all())
    for service in services:
        window_id = holding.get(service["id"])
        if window_id is not None:
            service[HOLD] = Hold(window_id, at)


class _AlertEvent(Protocol):
    integration_id: str
    dedup_key: str
    action: str
    service: dict[str, Any]


E = TypeVar("E", bound=_AlertEvent)


def hold_back_triggers(
    events: list[E], open_keys: Iterable[tuple[str, str]]
) -> tuple[list[E], list[tuple[E, Hold]]]:
    """``rule.hold_back`` for the incidents domain's alert events (services marked above)."""
    return hold_back(
        events, open_keys,
        key_of=lambda e: (e.integration_id, e.dedup_key),
        hold_of=lambda e: e.service.get(HOLD),
    )


def record_suppressed(session: Session, held: list[tuple[Any, Hold]]) -> None:
    """Store the suppressed triggers (one multi-row INSERT) in the processor's transaction."""
    if not held:
        return
    session.execute(insert(table_of(SuppressedEvent)), [
        {
            "id": new_id(), "window_id": hold.window_id, "service_id": event.service["id"],
            "integration_id": event.integration_id, "dedup_key": event.dedup_key,
            "summary": event.summary, "severity": event.severity, "payload": event.payload,
            "received_at": event.received_at, "suppressed_at": hold.at,
        }
        for event, hold in held
    ])


async def services_in_maintenance(session: AsyncSession, service_ids: set[str], at: datetime) -> dict[str, str]:
    """Service id -> the id of a window open on it at ``at`` (for paging and REST callers)."""
    if not service_ids:
        return {}
    return dict((await session.execute(_OPEN_WINDOWS, {"services": list(service_ids), "at": at})).all())


def prune_suppressed(session: Session, now: datetime, limit: int) -> int:
    """Delete up to ``limit`` suppressed triggers older than ``SUPPRESSED_EVENT_RETENTION`` at
    ``now``; return how many went (the caller repeats while a full batch went). One statement,
    by primary keys picked through the ``suppressed_at`` index."""
    table = table_of(SuppressedEvent)
    expired = (
        select(SuppressedEvent.id)
        .where(SuppressedEvent.suppressed_at < now - SUPPRESSED_EVENT_RETENTION)
        .limit(limit)
    )
    # A DML statement's result is a CursorResult (Session.execute is typed as returning Result).
    result = cast(CursorResult[Any], session.execute(delete(table).where(table.c.id.in_(expired))))
    return int(result.rowcount or 0)
