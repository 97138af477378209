"""Putting events on destinations' queues, and taking queued deliveries off.

``store`` writes events and their deliveries with two multi-row INSERTs, whatever their number
(the outbox calls it for a whole transaction's changes). ``drop_queued`` ends every pending
delivery of a destination that was switched off, saying why on each row. Synchronous (the
before-commit hook and the delivery step run on a sync session; async callers use ``run_sync``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from tocsin.db.base import table_of
from tocsin.webhooks.models import DROPPED, PENDING, Delivery, OutboundEvent

# session.info: ids of the deliveries queued in the transaction (handed to the engine or announced)
QUEUED = "webhooks_queued"


def new_uuid() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Event:
    """One change rendered once; ``body`` is the exact JSON every destination of it receives."""

    id: str
    event_type: str
    resource_type: str
    resource_id: str
    at: datetime
    body: str


@dataclass(frozen=True, slots=True)
class Send:
    """One delivery to make: ``event`` to ``destination_id``, in order within ``stream``."""

    event: Event
    destination_id: str
    stream: str


def store(session: Session, events: Sequence[Event], sends: Sequence[Send], now: datetime) -> list[str]:
    """Insert ``events`` and one pending delivery per send, due now, in the order given (which is
    their order within each stream). Returns the new deliveries' ids."""
    if not sends:
        return []
    session.execute(insert(table_of(OutboundEvent)), [
        {"id": e.id, "event_type": e.event_type, "resource_type": e.resource_type, "resource_id": e.resource_id,
         "occurred_at": e.at, "body": e.body} for e in events])
    rows = [{"id": new_uuid(), "destination_id": s.destination_id, "event_id": s.event.id,
             "event_type": s.event.event_type, "stream": s.stream, "status": PENDING, "attempts": 0,
             "due_at": now, "created_at": now} for s in sends]
    # One row at a time through executemany, in order: ``seq`` (the order within a stream) is
    # handed out in insertion order on both databases.
    session.execute(insert(table_of(Delivery)), rows)
    ids = [str(row["id"]) for row in rows]
    session.info.setdefault(QUEUED, []).extend(ids)
    return ids


def drop_queued(session: Session, destination_id: str, reason: str, now: datetime) -> int:
    """End every pending delivery of the destination as DROPPED with ``reason``; how many."""
    t = table_of(Delivery)
    result = session.execute(update(t).where(t.c.destination_id == destination_id, t.c.status == PENDING)
                             .values(status=DROPPED, finished_at=now, last_error=reason))
    return int(getattr(result, "rowcount", 0) or 0)


def requeue(session: Session, event_id: str, event_type: str, destination_id: str, stream: str,
            now: datetime) -> str:
    """A new pending delivery of a stored event (a manual redelivery: a new ``X-Webhook-Id``,
    after whatever its stream still has queued). Returns its id."""
    delivery_id = new_uuid()
    session.execute(insert(table_of(Delivery)), [{
        "id": delivery_id, "destination_id": destination_id, "event_id": event_id, "event_type": event_type,
        "stream": stream, "status": PENDING, "attempts": 0, "due_at": now, "created_at": now}])
    session.info.setdefault(QUEUED, []).append(delivery_id)
    return delivery_id
