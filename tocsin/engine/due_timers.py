"""Claiming due incident timers for the escalate and clock steps.

The incident row is the lock every change of an incident takes first (REST changes, the events
processor, the engine), and the planner rewrites an incident's timers only inside such a change.
So a step locks the incidents of due timers (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, in id order
as the processor locks them; an incident busy elsewhere is left for the next run), then reads
which of their timers are still due: a timer replaced or deleted meanwhile is not acted on, and
no two engines act on one timer. On SQLite one engine runs per database and FOR UPDATE does
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db.base import table_of
from tocsin.db.id_lists import one_of
from tocsin.db.session import Database
from tocsin.incidents.models import Incident, IncidentTimer
from tocsin.incidents.transition_records import IncidentState
from tocsin.incidents.transition_writer import STATE_COLUMNS, state_of_row


@dataclass(frozen=True, slots=True)
class Claimed:
    """A locked incident as its row stands (no ORM object: ``transition_writer.change_rows``)."""

    state: IncidentState
    service_id: str

    @property
    def id(self) -> str:
        return self.state.id


@dataclass
class Claim:
    due: list[tuple[Claimed, str, datetime]] = field(default_factory=list)  # locked incident, kind, due at
    full: bool = False  # the batch was full: there may be more due now
    skipped_locked: bool = False  # due timers of incidents another transaction holds were left

    @property
    def incident_ids(self) -> list[str]:
        return list(dict.fromkeys(i.id for i, _, _ in self.due))


_INCIDENTS = table_of(Incident)
_LOCK = select(*(_INCIDENTS.c[name] for name in STATE_COLUMNS)).order_by(_INCIDENTS.c.id)


async def claim(session: AsyncSession, kinds: Sequence[str], now: datetime, limit: int) -> Claim:
    """Lock the incidents of up to ``limit`` timers of ``kinds`` due at ``now`` and return their
    timers that are still due, earliest first."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    query = (select(IncidentTimer.incident_id).where(IncidentTimer.kind.in_(kinds), IncidentTimer.due_at <= now)
             .order_by(IncidentTimer.due_at, IncidentTimer.incident_id).limit(limit))
    # PostgreSQL: the due timers themselves are taken SKIP LOCKED too, so claims running at once
    # (another engine, or this step's lanes) take disjoint batches instead of the same one. Never
    # waiting for a lock here keeps this free of deadlocks with changes, which lock the incident
    # first and its timers after.
    candidates = list(await session.execute(query.with_for_update(skip_locked=True) if postgresql else query))
    ids = sorted({i for (i,) in candidates})
    if not ids:
        return Claim()
    lock = _LOCK.where(one_of(_INCIDENTS.c.id, ids))
    if postgresql:
        lock = lock.with_for_update(skip_locked=True)
    incidents = {row.id: Claimed(state_of_row(row), row.service_id) for row in await session.execute(lock)}
    rows = await session.execute(
        select(IncidentTimer.incident_id, IncidentTimer.kind, IncidentTimer.due_at)
        .where(one_of(IncidentTimer.incident_id, sorted(incidents)), IncidentTimer.kind.in_(kinds),
               IncidentTimer.due_at <= now)
        .order_by(IncidentTimer.due_at, IncidentTimer.incident_id, IncidentTimer.kind))
    due = [(incidents[i], kind, at) for i, kind, at in rows]
    return Claim(due, full=len(candidates) == limit, skipped_locked=len(incidents) < len(ids))


async def due_after(session: AsyncSession, kinds: Sequence[str], after: datetime) -> datetime | None:
    """The earliest timer of ``kinds`` due after ``after``. Read in a step's own transaction (one
    round trip, not a transaction of its own), it misses the timers the planner stores at the
    commit; those the planner announces itself (``agenda``)."""
    found = await session.execute(
        select(func.min(IncidentTimer.due_at)).where(IncidentTimer.kind.in_(kinds), IncidentTimer.due_at > after))
    value: datetime | None = found.scalar_one_or_none()
    return value


async def next_due(db: Database, kinds: Sequence[str], after: datetime) -> datetime | None:
    """The earliest timer of ``kinds`` due after ``after`` (read after the step's commit, so
    the timers it replaced count)."""
    async def read(session: AsyncSession) -> datetime | None:
        return await due_after(session, kinds, after)
    return await db.read(read)
