"""Claiming due rows, and the one write transaction a step claims and does its work in.

A step selects what it owns (``select(IncidentTimer).where(kind == ESCALATE)``); ``claim_due``
adds ``due <= now ORDER BY due LIMIT n`` and, on PostgreSQL, ``FOR UPDATE SKIP LOCKED``: rows
another engine holds are passed over, not waited for, so any number of engines share the work
and none blocks on another's slow send. A row stays locked until the claiming transaction ends,
and an engine that dies loses its locks with its connection: the rows are free again at once.
SQLite has one engine per database (``tocsin.engine.lock``) and SQLAlchemy emits no FOR UPDATE
there; the writer's BEGIN IMMEDIATE already makes the claim exclusive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, Session

from tocsin.db.session import Database
from tocsin.engine.models import TIMER_KINDS, IncidentTimer
from tocsin.notifications.models import PENDING, Notification

T = TypeVar("T")
DueColumn = QueryableAttribute[datetime] | ColumnElement[datetime]


@dataclass(frozen=True, slots=True)
class Claimed(Generic[T]):
    rows: Sequence[T]
    more: bool  # a full batch came back: more may be due, run again at once
    # PostgreSQL: due rows were passed over because another transaction holds them.
    skipped_locked: bool


def claim_statement(query: Select[T], due: DueColumn, now: datetime, limit: int, *,
                    lock_of: Any = None) -> Select[T]:
    """``query`` narrowed to its first ``limit`` due rows, locked (PostgreSQL) and skipping locked
    ones. ``lock_of`` names what to lock when ``query`` joins tables (default: every table)."""
    return (query.where(due <= now).order_by(due).limit(limit)
            .with_for_update(skip_locked=True, of=lock_of))


def _count_due(query: Select[T], due: DueColumn, now: datetime, cap: int) -> Select[int]:
    """How many rows are due, locked or not, counting no further than ``cap``."""
    return select(func.count()).select_from(query.where(due <= now).limit(cap).subquery())


def _is_postgres(session: AsyncSession | Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def claim_due(session: AsyncSession, query: Select[T], due: DueColumn, now: datetime, limit: int, *,
                    lock_of: Any = None) -> Claimed[T]:
    """Claim up to ``limit`` due rows of ``query`` in the session's transaction."""
    rows = (await session.scalars(claim_statement(query, due, now, limit, lock_of=lock_of))).all()
    skipped = False
    # Only a short batch can hide locked rows (a full one runs again at once anyway), and only
    # PostgreSQL skips any: then one capped count tells whether due rows were passed over.
    if len(rows) < limit and _is_postgres(session):
        skipped = (await session.scalar(_count_due(query, due, now, limit + 1)) or 0) > len(rows)
    return Claimed(rows, more=len(rows) >= limit, skipped_locked=skipped)


def claim_due_sync(session: Session, query: Select[T], due: DueColumn, now: datetime, limit: int, *,
                   lock_of: Any = None) -> Claimed[T]:
    """``claim_due`` on a synchronous session (SQLite's writer thread, ``run_sync``)."""
    rows = session.scalars(claim_statement(query, due, now, limit, lock_of=lock_of)).all()
    skipped = False
    if len(rows) < limit and _is_postgres(session):
        skipped = (session.scalar(_count_due(query, due, now, limit + 1)) or 0) > len(rows)
    return Claimed(rows, more=len(rows) >= limit, skipped_locked=skipped)


def _earliest(column: DueColumn, *where: ColumnElement[bool]) -> Select[datetime | None]:
    return select(func.min(column)).where(*where)


async def next_due(session: AsyncSession, column: DueColumn, *where: ColumnElement[bool]) -> datetime | None:
    """The earliest ``column`` among rows matching ``where`` (a step's ``StepResult.next_due``)."""
    return await session.scalar(_earliest(column, *where))


def next_due_sync(session: Session, column: DueColumn, *where: ColumnElement[bool]) -> datetime | None:
    return session.scalar(_earliest(column, *where))


async def write_transaction(db: Database, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one write transaction (the planner's before-commit hook included).

    SQLite: on the background writer's connection in a worker thread, behind the process's write
    turn (BEGIN IMMEDIATE: the claim is exclusive from its first read). PostgreSQL: a pooled
    connection, ``work`` on the transaction's synchronous session."""
    if db.is_sqlite:
        return await db.in_writer_thread(lambda session, _: work(session))
    async with db.transaction() as session:
        return await session.run_sync(work)


def oldest_due_statement() -> Select[*tuple[Any, ...]]:
    """One statement, one index probe per part: the earliest due time of each timer kind (index
    ``(kind, due_at)``) and of pending notifications (index ``(status, due_at)``)."""
    parts = [_earliest(IncidentTimer.due_at, IncidentTimer.kind == kind).scalar_subquery() for kind in TIMER_KINDS]
    parts.append(_earliest(Notification.due_at, Notification.status == PENDING).scalar_subquery())
    return select(*parts)


async def oldest_due(session: AsyncSession) -> datetime | None:
    """The earliest due time of any timer or pending notification (the engine's lag gauge)."""
    row = (await session.execute(oldest_due_statement())).one()
    return min((at for at in row if at is not None), default=None)
