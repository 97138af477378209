"""Turns inbox events into alerts, incidents and change events.

One batch is one transaction: apply the events, delete them from the inbox, commit — so each
accepted event takes effect exactly once even if the process dies mid-batch. On PostgreSQL a
transaction-scoped advisory lock lets only one node process at a time, which keeps events in
arrival order across nodes; a node that dies releases the lock with its connection.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db.session import Database
from tocsin.events.models import ChangeEvent, InboxEvent
from tocsin.ids import new_id
from tocsin.incidents.ingest import AlertEventIn, apply_alert_events
from tocsin.services.queries import integration_targets

log = logging.getLogger(__name__)
# Short transactions: on SQLite the processor shares the one connection with the group commit,
# so a long batch would sit in front of waiting 202s (p99).
BATCH = 64
MAX_ATTEMPTS = 5
PROCESSOR_LOCK = 0x70C5_1E01  # advisory lock id of the inbox processor


async def process_batch(db: Database, limit: int = BATCH) -> int:
    """Process up to ``limit`` inbox events; return how many were taken (0 when idle)."""
    try:
        async with db.transaction() as session:
            if not await _lock(session, db):
                return 0
            rows = await _pending(session, limit)
            if rows:
                await _apply(session, rows)
                await session.execute(delete(InboxEvent).where(InboxEvent.seq.in_([r.seq for r in rows])))
            return len(rows)
    except Exception:
        log.exception("inbox batch failed; retrying its events one by one")
    return await _process_singly(db, limit)


async def _lock(session: AsyncSession, db: Database) -> bool:
    if db.is_sqlite:
        return True  # one connection per SQLite database: already exclusive
    result = await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PROCESSOR_LOCK})
    return bool(result.scalar())


async def _pending(session: AsyncSession, limit: int) -> list[InboxEvent]:
    query = (
        select(InboxEvent)
        .where(InboxEvent.attempts < MAX_ATTEMPTS)
        .order_by(InboxEvent.seq)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def _process_singly(db: Database, limit: int) -> int:
    async with db.transaction() as session:
        seqs = [r.seq for r in await _pending(session, limit)]
    for seq in seqs:
        try:
            async with db.transaction() as session:
                if not await _lock(session, db):
                    return 0
                row = await session.get(InboxEvent, seq)
                if row is not None:
                    await _apply(session, [row])
                    await session.delete(row)
        except Exception as exc:
            log.exception("inbox event %s failed", seq)
            async with db.transaction() as session:
                await session.execute(
                    update(InboxEvent)
                    .where(InboxEvent.seq == seq)
                    .values(attempts=InboxEvent.attempts + 1, last_error=repr(exc)[:2000])
                )
    return len(seqs)


async def _apply(session: AsyncSession, rows: list[InboxEvent]) -> None:
    targets = await integration_targets(session, {r.integration_id for r in rows})
    alerts: list[AlertEventIn] = []
    changes: list[dict[str, Any]] = []
    for row in rows:
        target = targets.get(row.integration_id)
        if target is None:
            log.warning("dropping inbox event %s: integration %s no longer exists", row.seq, row.integration_id)
            continue
        integration_type, service = target
        event = row.event
        if event["kind"] == "change":
            changes.append(_change_row(row, service["id"]))
        else:
            alerts.append(_alert_event(row, integration_type, service))
    if alerts:
        await apply_alert_events(session, alerts)
    if changes:
        await session.execute(ChangeEvent.__table__.insert(), changes)


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    keys = ("summary", "source", "severity", "timestamp", "component", "group", "class_",
            "custom_details", "client", "client_url", "links", "images", "api_version")
    payload = {k: event.get(k) for k in keys}
    payload["class"] = payload.pop("class_")
    return payload


def _alert_event(row: InboxEvent, integration_type: str, service: dict[str, Any]) -> AlertEventIn:
    event = row.event
    return AlertEventIn(
        integration_id=row.integration_id,
        integration_type=integration_type,
        service=service,
        action=event["event_action"],
        dedup_key=event["dedup_key"],
        received_at=row.received_at,
        summary=event.get("summary"),
        severity=event.get("severity"),
        payload=_payload(event),
    )


def _change_row(row: InboxEvent, service_id: str) -> dict[str, Any]:
    event = row.event
    stamp = event.get("timestamp")
    return {
        "id": new_id(),
        "integration_id": row.integration_id,
        "service_id": service_id,
        "summary": event["summary"],
        "source": event.get("source"),
        "timestamp": datetime.fromisoformat(stamp) if stamp else row.received_at,
        "custom_details": event.get("custom_details"),
        "links": event.get("links") or [],
        "created_at": row.received_at,
    }
