"""``one_of(column, values)`` selects exactly what ``column.in_(values)`` does, on both databases,
with one bound parameter whatever the list's length."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite

from tests.conftest import Harness
from tests.db.test_bulk import row
from tocsin.db.base import table_of
from tocsin.db.id_lists import holds_one_of, one_of
from tocsin.notifications.models import MessageReceipt, Notification

AT = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
KEYS = ["N0", "N1", "N'2", 'N"3', "Nä4", "N,5]"]  # quotes, non-ASCII and JSON/array punctuation


async def test_one_of_selects_what_in_selects(harness: Harness) -> None:
    table = table_of(Notification)
    async with harness.tocsin.db.transaction() as session:
        await session.execute(insert(table), [row(k, AT, None) | {"attempts": n} for n, k in enumerate(KEYS)])
    wanted_lists = [[], ["N0"], ["N'2", 'N"3', "Nä4", "N,5]"], ["N1", "N1", "missing"], KEYS + ["x"] * 300]
    async with harness.tocsin.db.transaction() as session:
        for wanted in wanted_lists:
            by_in = set(await session.scalars(select(table.c.key).where(table.c.key.in_(wanted))))
            by_one_of = set(await session.scalars(select(table.c.key).where(one_of(table.c.key, wanted))))
            assert by_one_of == by_in == set(wanted) & set(KEYS)
        named = select(table.c.key).where(one_of(table.c.id, name="ids")).order_by(table.c.key)
        assert list(await session.scalars(named, {"ids": ["N1", "N0"]})) == ["N0", "N1"]
        assert list(await session.scalars(named, {"ids": ("Nä4",)})) == ["Nä4"]


async def test_holds_one_of_finds_the_json_arrays_holding_any_of_the_values(harness: Harness) -> None:
    table = table_of(MessageReceipt)
    held = {"R1": ["N0", "N1"], "R2": ["N'2", 'N"3'], "R3": ["Nä4"], "R4": []}
    async with harness.tocsin.db.transaction() as session:
        await session.execute(insert(table), [{"id": k, "notification_ids": v, "accepted_at": AT}
                                              for k, v in held.items()])
    holding = select(table.c.id).where(holds_one_of(table.c.notification_ids, name="ids")).order_by(table.c.id)
    async with harness.tocsin.db.transaction() as session:
        for wanted in ([], ["N1"], ["N1", "N0"], ['N"3', "Nä4", "missing"], ["N", "N,5]"], KEYS + ["x"] * 300):
            found = list(await session.scalars(holding, {"ids": wanted}))
            assert found == sorted(k for k, v in held.items() if set(v) & set(wanted)), wanted


def test_one_parameter_whatever_the_length() -> None:
    table = table_of(Notification)
    shapes = ((postgresql.asyncpg.dialect(), "= ANY("), (sqlite.dialect(), "IN (SELECT value FROM json_each("))
    for dialect, shape in shapes:
        texts = {str(select(table.c.id).where(one_of(table.c.id, ["a"] * n)).compile(dialect=dialect))
                 for n in (0, 1, 250)}
        assert len(texts) == 1, texts
        assert shape in texts.pop()


def test_sqlite_searches_the_index_once_per_value() -> None:
    """Rendered as a plain comparison (no ``= 1`` as a non-native boolean would be), which lets
    SQLite drive the column's index from the list instead of scanning the table."""
    table = table_of(Notification)
    compiled = select(table.c.key).where(one_of(table.c.id, ["a", "b"])).compile(dialect=sqlite.dialect())
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE notifications (id VARCHAR(16) PRIMARY KEY, key VARCHAR)")
    plan = [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {compiled}", ['["a", "b"]'])]
    assert any(step.startswith("SEARCH notifications USING") and "(id=?)" in step for step in plan), plan
