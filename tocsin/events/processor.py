"""Turns inbox events into alerts, incidents and change events.

One batch is one transaction: apply the events, delete them from the inbox, commit — so each
accepted event takes effect exactly once even if the process dies mid-batch. On PostgreSQL a
transaction-scoped advisory lock lets only one node process at a time, which keeps events in
arrival order across nodes; a node that dies releases the lock with its connection. On
SQLite the transaction runs in a worker thread on its own connection (see ``_in_transaction``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tocsin.db.base import table_of
from tocsin.db.bulk import delete_many
from tocsin.db.session import Database
from tocsin.events.models import ChangeEvent, InboxEvent
from tocsin.ids import new_id
from tocsin.incidents.ingest import (
    AlertEventIn,
    PreparedBatch,
    apply_alert_events,
    prepare,
    still_valid,
    write,
)
from tocsin.maintenance.queries import mark_maintenance
from tocsin.services.queries import integration_targets

log = logging.getLogger(__name__)
BATCH = 200
# SQLite has one write lock: a shorter batch holds it for less time, so group commits that
# queue behind it (and their 202s) wait less.
SQLITE_BATCH = 100
MAX_ATTEMPTS = 5
PROCESSOR_LOCK = 0x70C5_1E01  # advisory lock id of the inbox processor

T = TypeVar("T")


async def _in_transaction(db: Database, work: Callable[[Session], T]) -> T | None:
    """Run synchronous ``work`` in one processor transaction; None if another node holds the lock.

    SQLite: in a worker thread on the background writer's connection, so the write lock is
    held only for the work itself, never across event-loop turns (which would stall the group
    commit). PostgreSQL: on a pooled connection via ``run_sync``, under the advisory lock.
    """
    if db.is_sqlite:
        return await db.in_writer_thread(lambda session, _: work(session))
    async with db.transaction() as session:
        locked = await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PROCESSOR_LOCK})
        if not locked.scalar():
            return None
        return await session.run_sync(work)


def _take_and_apply(session: Session, limit: int, at: datetime) -> int:
    rows = _pending(session, limit)
    if rows:
        _apply(session, rows, at)
        _delete_taken(session, [r.seq for r in rows])
    return len(rows)


def batch_size(db: Database) -> int:
    return SQLITE_BATCH if db.is_sqlite else BATCH


@dataclass
class _Batch:
    seqs: list[int]
    alerts: list[AlertEventIn]
    changes: list[dict[str, Any]]
    prepared: PreparedBatch | None
    at: datetime


def _read_batch(session: Session, limit: int, at: datetime) -> _Batch:
    rows = _pending(session, limit)
    alerts, changes = _split(session, rows)
    mark_maintenance(session, [a.service for a in alerts], at)
    prepared = prepare(session, alerts, at) if alerts else None
    return _Batch([r.seq for r in rows], alerts, changes, prepared, at)


def _write_batch(session: Session, batch: _Batch) -> int:
    if batch.prepared is not None:
        if not still_valid(session, batch.prepared):
            batch.prepared = prepare(session, batch.alerts, batch.at)  # re-plan under the lock
        write(session, batch.prepared)
    if batch.changes:
        session.execute(insert(table_of(ChangeEvent)), batch.changes)
    if batch.seqs:
        _delete_taken(session, batch.seqs)
    return len(batch.seqs)


async def process_batch(db: Database, now: Callable[[], datetime], limit: int | None = None) -> int:
    """Process up to ``limit`` inbox events; return how many were applied (taken out of the
    inbox): 0 when idle, and also when every pending event failed or the database had a
    transient error, so the worker sleeps instead of retrying at once.

    ``now`` is the runtime clock: read once, it is the batch's processing time, which dates the
    batch's incident changes and log entries and decides whether a service is in maintenance
    (``tocsin.maintenance.rule``)."""
    limit = min(limit or BATCH, batch_size(db))
    at = now()
    try:
        if db.is_sqlite:
            # Plan from reads, then hold SQLite's write lock only for the writes.
            return await db.in_writer_thread(_write_batch, lambda session: _read_batch(session, limit, at))
        return await _in_transaction(db, lambda session: _take_and_apply(session, limit, at)) or 0
    except Exception:
        log.exception("inbox batch failed; retrying its events one by one")
    return await _process_singly(db, limit, at)


class Queued(Protocol):
    """An inbox row as the processor reads it (a row of ``_PENDING``, or an ``InboxEvent``)."""

    seq: int
    integration_id: str
    received_at: datetime
    event: dict[str, Any]


# The processor's inbox read, built once and run on the table (no ORM entities): building a
# statement and the ORM's handling of its rows cost more than running it. The taken events go
# by one executemany DELETE by key (``bulk.delete_many``): an IN list is re-expanded every batch.
_INBOX = table_of(InboxEvent)
_PENDING = (select(_INBOX.c.seq, _INBOX.c.integration_id, _INBOX.c.received_at, _INBOX.c.event)
            .where(_INBOX.c.attempts < MAX_ATTEMPTS).order_by(_INBOX.c.seq).limit(bindparam("limit")))


def _pending(session: Session, limit: int) -> list[Queued]:
    return list(session.connection().execute(_PENDING, {"limit": limit}))  # Rows have the Queued attributes


def _delete_taken(session: Session, seqs: list[int]) -> None:
    delete_many(session, _INBOX, "seq", seqs)


def _apply_one(session: Session, seq: int, at: datetime) -> bool:
    row = session.get(InboxEvent, seq)
    if row is None:
        return False
    _apply(session, [row], at)
    session.delete(row)
    return True


def _record_failure(session: Session, seq: int, error: str) -> None:
    session.execute(
        update(InboxEvent)
        .where(InboxEvent.seq == seq)
        .values(attempts=InboxEvent.attempts + 1, last_error=error[:2000])
    )


def _ordering_key(row: Queued) -> tuple[str, str | None]:
    return row.integration_id, row.event.get("dedup_key")


async def _process_singly(db: Database, limit: int, at: datetime) -> int:
    """After a failed batch: each event in its own transaction; a failing one is marked and,
    after MAX_ATTEMPTS, left in the inbox as a dead letter instead of blocking the rest.
    Events that share a failed event's dedup key wait behind it, so a resolve is never
    applied before the trigger it follows."""
    pending = await _in_transaction(
        db, lambda session: [(r.seq, _ordering_key(r)) for r in _pending(session, limit)]
    )
    blocked: set[tuple[str, str | None]] = set()
    applied = 0
    for seq, key in pending or []:
        if key in blocked:
            continue
        try:
            if await _in_transaction(db, partial(_apply_one, seq=seq, at=at)):
                applied += 1
        except OperationalError:
            # Locks, timeouts, lost connections: not the event's fault, so not an attempt.
            log.exception("inbox event %s hit a transient database error; will retry", seq)
            return applied
        except Exception as exc:
            log.exception("inbox event %s failed", seq)
            blocked.add(key)
            await _in_transaction(db, partial(_record_failure, seq=seq, error=repr(exc)))
    return applied


def _apply(session: Session, rows: Sequence[Queued], at: datetime) -> None:
    alerts, changes = _split(session, rows)
    mark_maintenance(session, [a.service for a in alerts], at)
    if alerts:
        apply_alert_events(session, alerts, at)
    if changes:
        session.execute(insert(table_of(ChangeEvent)), changes)


def _split(session: Session, rows: Sequence[Queued]) -> tuple[list[AlertEventIn], list[dict[str, Any]]]:
    """Inbox rows -> alert events and change-event rows. Dropped: events of deleted integrations,
    and every event (alert or change) of a disabled service, whose integrations are switched off
    (PagerDuty): accepted (202), then no alert, no incident, no change to open ones, no change event."""
    targets = integration_targets(session, {r.integration_id for r in rows})
    alerts: list[AlertEventIn] = []
    changes: list[dict[str, Any]] = []
    for row in rows:
        target = targets.get(row.integration_id)
        if target is None:
            log.warning("dropping inbox event %s: integration %s no longer exists", row.seq, row.integration_id)
            continue
        integration_type, service = target
        event = row.event
        if service.get("status") == "disabled":
            log.info("dropping a %s event for dedup key %r: service %s is disabled",
                     event.get("event_action") or event["kind"], event.get("dedup_key"), service["id"])
            continue
        if event["kind"] == "change":
            changes.append(_change_row(row, service["id"]))
        else:
            alerts.append(_alert_event(row, integration_type, service))
    return alerts, changes


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    keys = ("summary", "source", "severity", "timestamp", "component", "group", "class_",
            "custom_details", "client", "client_url", "links", "images", "api_version")
    payload = {k: event.get(k) for k in keys}
    payload["class"] = payload.pop("class_")
    return payload


def _alert_event(row: Queued, integration_type: str, service: dict[str, Any]) -> AlertEventIn:
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


def _change_row(row: Queued, service_id: str) -> dict[str, Any]:
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
