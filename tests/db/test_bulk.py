"""The planner's many-row INSERT stores exactly what SQLAlchemy would (on SQLite it binds the
column types' own conversions itself), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Text, func, insert, select, text
from sqlalchemy.orm import Session

from tests.conftest import Harness
from tocsin.db.base import table_of
from tocsin.db.bulk import copy_in, insert_many, update_all
from tocsin.events.models import InboxEvent
from tocsin.notifications.models import Notification

AT = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
DETAIL = {"what": ["a", 1, None], "nested": {"ok": True}}


def row(key: str, due: datetime, detail: Any) -> dict[str, Any]:
    return {"id": key, "key": key, "kind": "incident", "incident_id": "PI", "user_id": "PU",
            "contact_method_id": None, "rule_id": "PR", "channel": "email", "address": "a@example.com",
            "urgency": "high", "detail": detail, "status": "pending", "due_at": due, "attempts": 0,
            "last_error": None, "provider_response": None, "sent_at": None, "created_at": AT, "updated_at": AT}


async def test_bulk_rows_read_back_and_compare_like_core_rows(harness: Harness) -> None:
    times = [AT, AT + timedelta(microseconds=1), AT + timedelta(minutes=5, microseconds=250000),
             (AT + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))]  # another offset, one instant
    table = table_of(Notification)

    def write(session: Session) -> None:
        insert_many(session, table, [row(f"B{n}", t, DETAIL if n % 2 else None) for n, t in enumerate(times)])
        session.execute(insert(table), [row(f"C{n}", t, DETAIL if n % 2 else None) for n, t in enumerate(times)])

    async with harness.tocsin.db.transaction() as session:
        await session.run_sync(write)
    async with harness.tocsin.db.transaction() as session:
        found = {k: (d, det, c) for k, d, det, c in await session.execute(
            select(Notification.key, Notification.due_at, Notification.detail, Notification.created_at))}
        for n, t in enumerate(times):
            assert found[f"B{n}"] == found[f"C{n}"] == (t, DETAIL if n % 2 else None, AT)
        stored: dict[str, str] = dict((await session.execute(  # as stored: the same text, not just the same instant
            text("SELECT key, CAST(due_at AS TEXT) || CAST(created_at AS TEXT) FROM notifications"))).all())
        assert [stored[f"B{n}"] for n in range(len(times))] == [stored[f"C{n}"] for n in range(len(times))]
        for t in times:  # comparisons in SQL see both kinds of rows alike
            due = set(await session.scalars(select(Notification.key).where(Notification.due_at <= t)))
            assert {k for k in due if k[0] == "B"} == {f"B{k[1:]}" for k in due if k[0] == "C"}
            assert len(due) == 2 * sum(1 for u in times if u <= t)


async def test_update_all_sets_the_same_values_on_exactly_the_given_rows(harness: Harness) -> None:
    table = table_of(Notification)
    later = AT + timedelta(minutes=3)

    def write(session: Session) -> None:
        insert_many(session, table, [row(f"U{n}", AT, None) for n in range(5)])
        update_all(session, table, "id", ["U1", "U3", "U4", "NOSUCH"],
                   {"status": "sent", "sent_at": later, "detail": {"bundle": "U1"}}, increment=("attempts",))
        update_all(session, table, "id", [], {"status": "failed"})  # nothing to do: no statement, no change

    async with harness.tocsin.db.transaction() as session:
        await session.run_sync(write)
    async with harness.tocsin.db.transaction() as session:
        found = {k: (s, a, t, d) for k, s, a, t, d in await session.execute(
            select(Notification.id, Notification.status, Notification.attempts, Notification.sent_at,
                   Notification.detail))}
    assert found == {"U0": ("pending", 0, None, None), "U2": ("pending", 0, None, None),
                     **{k: ("sent", 1, later, {"bundle": "U1"}) for k in ("U1", "U3", "U4")}}


async def test_copy_in_stores_what_an_insert_stores_and_all_or_nothing(harness: Harness) -> None:
    table = table_of(InboxEvent)
    db = harness.tocsin.db
    if db.is_sqlite:
        pytest.skip("COPY is PostgreSQL's")
    event = {"summary": "Disk ä full", "custom_details": {"nested": [1, None, "x"]}, "timestamp": None}
    other_zone = (AT + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=-5)))
    rows = [{"integration_id": "PCOPY", "received_at": at, "event": event} for at in (AT, other_zone)]
    await copy_in(db.engine, table, rows)
    async with db.engine.begin() as conn:
        await conn.execute(insert(table), rows)  # the same rows through SQLAlchemy, to compare
    async with db.transaction() as session:
        stored = list(await session.execute(select(table.c.received_at, table.c.event, table.c.attempts,
                                                   table.c.last_error).order_by(table.c.seq)))
    assert stored[:2] == stored[2:] == [(AT, event, 0, None), (other_zone, event, 0, None)]
    with pytest.raises(ValueError, match="naive"):  # checked as an INSERT checks it
        await copy_in(db.engine, table, [{"integration_id": "P", "received_at": AT.replace(tzinfo=None),
                                          "event": {}}])
    with pytest.raises(asyncpg.NotNullViolationError):  # one bad row: none of the rows stored
        await copy_in(db.engine, table, [{"integration_id": "PGOOD", "received_at": AT, "event": {}},
                                         {"integration_id": None, "received_at": AT, "event": {}}])
    async with db.transaction() as session:  # and the pool's connection is fine afterwards
        assert set(await session.scalars(select(table.c.integration_id))) == {"PCOPY"}


async def test_append_stores_what_an_insert_stores(harness: Harness) -> None:
    """``Database.append`` (the group commit's write: SQLite its own connection, PostgreSQL COPY)."""
    table = table_of(InboxEvent)
    db = harness.tocsin.db
    event = {"summary": "Disk ä full", "custom_details": {"nested": [1, None, "x"]}}
    other_zone = (AT + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=-5)))
    rows = [{"integration_id": "PPLAIN", "received_at": at, "event": event} for at in (AT, other_zone)]
    await db.append(table, rows)
    async with db.engine.begin() as conn:
        await conn.execute(insert(table), rows)  # the same rows through SQLAlchemy, to compare
    async with db.transaction() as session:
        stored = list(await session.execute(select(table.c.received_at, table.c.event, table.c.attempts,
                                                   table.c.last_error).order_by(table.c.seq)))
        as_text = list(await session.scalars(select(func.cast(table.c.received_at, Text)).order_by(table.c.seq)))
    assert stored[:2] == stored[2:] == [(AT, event, 0, None), (other_zone, event, 0, None)]
    assert as_text[:2] == as_text[2:]  # the same stored form, so comparisons in SQL agree
