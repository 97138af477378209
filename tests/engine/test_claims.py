"""Claiming due rows on both databases; on PostgreSQL two engines never claim the same row and
one that passed over locked rows says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.engine.rows import add_notifications
from tocsin.db.session import Database
from tocsin.engine.claims import claim_due, claim_due_sync, next_due, next_due_sync, oldest_due, write_transaction
from tocsin.notifications.models import PENDING, SENT, Notification

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
PENDING_ROWS = select(Notification).where(Notification.status == PENDING)


async def test_due_rows_are_claimed_oldest_first_in_batches(database: Database) -> None:
    async with database.transaction() as session:
        late, later, due, future = await add_notifications(session, T0 - 3 * MIN, T0 - MIN, T0, T0 + MIN)
        await add_notifications(session, T0 - 5 * MIN, status=SENT)  # not the query's
    async with database.transaction() as session:
        batch = await claim_due(session, PENDING_ROWS, Notification.due_at, T0, 2)
        assert [row.id for row in batch.rows] == [late, later]
        assert batch.more and not batch.skipped_locked
        rest = await claim_due(session, PENDING_ROWS, Notification.due_at, T0, 5)
        assert [row.id for row in rest.rows] == [late, later, due]
        assert not rest.more and not rest.skipped_locked
        assert await next_due(session, Notification.due_at, Notification.status == PENDING,
                              Notification.due_at > T0) == T0 + MIN
        assert await oldest_due(session) == T0 - 3 * MIN
    assert future


async def test_the_synchronous_claim_in_a_write_transaction(database: Database) -> None:
    async with database.transaction() as session:
        first, _ = await add_notifications(session, T0 - MIN, T0 + MIN)

    def work(session: Session) -> tuple[list[str], bool, datetime | None]:
        batch = claim_due_sync(session, PENDING_ROWS, Notification.due_at, T0, 10)
        for row in batch.rows:
            row.status = SENT
        upcoming = next_due_sync(session, Notification.due_at, Notification.status == PENDING)
        return [row.id for row in batch.rows], batch.more, upcoming

    assert await write_transaction(database, work) == ([first], False, T0 + MIN)
    async with database.transaction() as session:
        assert (await session.get_one(Notification, first)).status == SENT


async def test_nothing_due_means_no_lag(database: Database) -> None:
    async with database.transaction() as session:
        assert await oldest_due(session) is None


@pytest.mark.postgres
async def test_two_engines_never_claim_the_same_row_and_the_second_knows_it_skipped(pg_empty: str) -> None:
    first, second = Database(pg_empty), Database(pg_empty)
    try:
        async with first.transaction() as session:
            ids = await add_notifications(session, T0 - 3 * MIN, T0 - 2 * MIN, T0 - MIN)
        async with first.transaction() as one:
            held = await claim_due(one, PENDING_ROWS, Notification.due_at, T0, 2)
            assert [row.id for row in held.rows] == ids[:2] and held.more
            async with second.transaction() as other:
                taken = await claim_due(other, PENDING_ROWS, Notification.due_at, T0, 5)
                assert [row.id for row in taken.rows] == ids[2:]  # not the two the first holds
                assert taken.skipped_locked and not taken.more
                nothing = await claim_due(other, PENDING_ROWS, Notification.due_at, T0, 5)
                assert [row.id for row in nothing.rows] == ids[2:]  # its own lock does not skip
        async with second.transaction() as other:  # the first committed: its locks are gone
            freed = await claim_due(other, PENDING_ROWS, Notification.due_at, T0, 5)
            assert [row.id for row in freed.rows] == ids and not freed.skipped_locked
    finally:
        await first.dispose()
        await second.dispose()
