"""Retention of finished deliveries: delivered, failed and dropped deliveries, their attempts and
the events no delivery needs any more are deleted once older than the horizon
(``TOCSIN_WEBHOOK_RETENTION_DAYS``, 30 days by default).

Called by the retention sweeper (``tocsin.events.retention``; the composition root hands it this
pruner), batch by batch: each call deletes at most ``limit`` deliveries, picked through the
``finished_at`` index, with their attempts and then their events that no other delivery still
names — four set-based statements whatever the batch holds. Pending deliveries (queued, retrying
or leased by a sender) have no ``finished_at`` and are never touched; a redelivery is a new
pending delivery, so it keeps its event. The horizon is never shorter than the failure-rate
window (``health.WINDOW``), so the 60 %/12 h rule always counts every delivery it should.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, select
from sqlalchemy.orm import Session

from tocsin.db.base import table_of
from tocsin.webhooks import health
from tocsin.webhooks.models import FINISHED, Delivery, DeliveryAttempt, OutboundEvent

DEFAULT_HORIZON = timedelta(days=30)


def cutoff(now: datetime, horizon: timedelta) -> datetime:
    """Deliveries finished before this instant may go (never inside the failure-rate window)."""
    return now - max(horizon, health.WINDOW)


def prune_deliveries(session: Session, now: datetime, limit: int, *, horizon: timedelta = DEFAULT_HORIZON) -> int:
    """Delete up to ``limit`` finished deliveries older than the horizon, their attempts, and the
    events left without a delivery; how many deliveries went."""
    d, a, e = table_of(Delivery), table_of(DeliveryAttempt), table_of(OutboundEvent)
    rows = session.execute(select(d.c.seq, d.c.event_id)
                           .where(d.c.finished_at < cutoff(now, horizon), d.c.status.in_(FINISHED))
                           .limit(limit)).all()
    if not rows:
        return 0
    seqs = [seq for seq, _ in rows]
    event_ids = sorted({event_id for _, event_id in rows})
    session.execute(delete(a).where(a.c.delivery_seq.in_(seqs)))
    # A DML statement's result is a CursorResult (Session.execute is typed as returning Result).
    gone = cast(CursorResult[Any], session.execute(delete(d).where(d.c.seq.in_(seqs), d.c.status.in_(FINISHED))))
    session.execute(delete(e).where(e.c.id.in_(event_ids), ~exists().where(d.c.event_id == e.c.id)))
    return int(gone.rowcount or 0)
