"""Many-row writes (INSERT, upsert, UPDATE and DELETE by key) for the hot paths: the events processor's
batches, the planner, the engine's escalation batches.

Each is one ``executemany`` of plain SQL with the values converted here (see ``insert_many``),
on SQLite and on PostgreSQL (asyncpg pipelines the rows in one round trip): SQLAlchemy's per-row
parameter handling was most of the time of such writes (on PostgreSQL a third of an escalation
batch's CPU went to it and to expanding IN lists, ``db.id_lists``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Dialect, Table, bindparam, delete, insert, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from tocsin.db.id_lists import one_of


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]], *,
                conflict: tuple[str, ...] = (), set_columns: tuple[str, ...] = ()) -> None:
    """INSERT many rows of ``table`` (every row with the same keys). SQLite (the events
    processor's hot path): each distinct value of a converted column (times, JSON) is converted
    once, by the column type's own bind processor, not once per row (a batch's rows share its
    instant, its due times and each policy's frozen path), and the rows go to the driver's
    executemany as they are: SQLAlchemy's per-row parameter handling was most of the planner's
    time in a batch. A column the rows leave out gets its scalar default, as an INSERT gives it.

    ``conflict``: the unique columns of an upsert, ``ON CONFLICT (conflict) DO NOTHING``, or
    with ``set_columns`` ``DO UPDATE SET`` those columns to the new row's values."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name not in _PLAIN:
        session.execute(_insert_statement(dialect.name, table, conflict, set_columns), rows)
        return
    names, records = _insert_records(dialect, table, rows)
    session.connection().exec_driver_sql(_plain_insert(dialect, table, names, conflict, set_columns), records)


# Keyed by the dialect object (its JSON serializer is the engine's): bounded, since every test
# builds engines of its own.
@functools.lru_cache(maxsize=512)
def _plain_insert(dialect: Dialect, table: Table, names: tuple[str, ...], conflict: tuple[str, ...],
                  set_columns: tuple[str, ...]) -> str:
    """The INSERT's text for the plain drivers (built once per table and columns)."""
    quote = dialect.identifier_preparer.quote
    statement = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
                 f"VALUES ({', '.join(_PLAIN[dialect.name](i) for i in range(1, len(names) + 1))})")
    if conflict:
        statement += f" ON CONFLICT ({', '.join(quote(n) for n in conflict)}) "
        statement += ("DO UPDATE SET " + ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in set_columns)
                      if set_columns else "DO NOTHING")
    return statement


async def copy_in(engine: AsyncEngine, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: INSERT ``rows`` (every row with the same keys) by binary ``COPY``, in a
    transaction of their own, on the driver's (asyncpg's) connection. Each value is converted by
    its column type's bind processor, as an INSERT would (JSON to text, times checked as UTC);
    a column the rows leave out gets its scalar default, as an INSERT would give it.

    For the inbox's group commit, the hottest write: COPY streams the rows, encoded in asyncpg's
    C code, where an executemany through SQLAlchemy paid its per-row parameter handling and a
    round trip for BEGIN (ingest with the engine inside: 3,120 -> 3,450 events/s, ARCHITECTURE.md)."""
    names, records = _insert_records(engine.dialect, table, rows)
    async with engine.connect() as connection:
        driver: Any = (await connection.get_raw_connection()).driver_connection
        try:
            async with driver.transaction():
                await driver.copy_records_to_table(table.name, columns=names, records=records)
        except BaseException:
            # SQLAlchemy did not see this error, so do what it does on a disconnect: this connection
            # must not go back to the pool, nor the others it holds (used within the last second,
            # they are not pinged, ``db.liveness``), which a server restart cut just the same.
            if driver.is_closed():
                await connection.invalidate()
                await engine.dispose()
            raise


def _insert_records(dialect: Dialect, table: Table,
                    rows: list[dict[str, Any]]) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The columns an INSERT of ``rows`` writes (theirs, then those left out that have a scalar
    default, as SQLAlchemy's INSERT fills them in) and each row's converted values in that order."""
    given = tuple(rows[0])
    defaulted, defaults = _scalar_defaults(dialect, table, given)
    records = _converted(dialect, table, given, rows)
    return (*given, *defaulted), [record + defaults for record in records] if defaults else records


@functools.lru_cache(maxsize=512)
def _scalar_defaults(dialect: Dialect, table: Table,
                     names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The columns not among ``names`` that have a scalar default, and those defaults converted
    by their columns' bind processors."""
    found = {c.name: c.default.arg for c in table.columns  # type: ignore[attr-defined]  # a ScalarElementColumnDefault
             if c.name not in names and c.default is not None and c.default.is_scalar}
    if not found:
        return (), ()
    return tuple(found), _converted(dialect, table, tuple(found), [found])[0]


def update_many(session: Session, table: Table, key: str, rows: list[dict[str, Any]], *,
                increment: tuple[str, ...] = ()) -> None:
    """``UPDATE table SET ... WHERE key = ?`` for each row (every row with the same keys, ``key``
    among them): one executemany. ``increment``: columns each row adds one to."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    names = [n for n in rows[0] if n != key]
    if dialect.name not in _PLAIN:
        values: dict[str, Any] = {n: bindparam(f"b_{n}") for n in names}
        values.update({n: table.c[n] + 1 for n in increment})
        session.execute(update(table).where(table.c[key] == bindparam(f"b_{key}")).values(values),
                        [{f"b_{k}": v for k, v in row.items()} for row in rows])
        return
    quote, mark = dialect.identifier_preparer.quote, _PLAIN[dialect.name]
    sets = [f"{quote(n)} = {mark(i)}" for i, n in enumerate(names, start=1)]
    sets += [f"{quote(n)} = {quote(n)} + 1" for n in increment]
    statement = f"UPDATE {quote(table.name)} SET {', '.join(sets)} WHERE {quote(key)} = {mark(len(names) + 1)}"
    ordered = [{n: row[n] for n in [*names, key]} for row in rows]
    session.connection().exec_driver_sql(statement, _converted(dialect, table, (*names, key), ordered))


def update_all(session: Session, table: Table, key: str, ids: list[Any], values: dict[str, Any], *,
               increment: tuple[str, ...] = ()) -> None:
    """``UPDATE table SET values WHERE key IN ids``: many rows given the same values (a bundle's
    notifications, one outcome for all) in one statement with the ids bound as one parameter
    (``id_lists.one_of``), not a row each. ``increment``: columns each row adds one to."""
    if not ids:
        return
    sets: dict[str, Any] = dict(values)
    sets.update({n: table.c[n] + 1 for n in increment})
    session.execute(update(table).where(one_of(table.c[key], ids)).values(sets))


def delete_many(session: Session, table: Table, key: str, values: list[Any]) -> None:
    """``DELETE FROM table WHERE key = ?`` for each of ``values``: one executemany, whose text
    never changes (an IN list's text and parameters are rebuilt for every length)."""
    if not values:
        return
    dialect = session.get_bind().dialect
    if dialect.name not in _PLAIN:
        session.execute(delete(table).where(table.c[key] == bindparam("b_key")), [{"b_key": v} for v in values])
        return
    quote = dialect.identifier_preparer.quote
    statement = f"DELETE FROM {quote(table.name)} WHERE {quote(key)} = {_PLAIN[dialect.name](1)}"
    session.connection().exec_driver_sql(statement, _converted(dialect, table, (key,), [{key: v} for v in values]))


# The drivers whose executemany takes the rows as they are, and how each writes parameter n:
# SQLite's ``?`` and asyncpg's ``$n`` (it pipelines the rows in one round trip). Either way
# SQLAlchemy's per-row parameter handling, most of such a write's CPU, is skipped.
_PLAIN: dict[str, Callable[[int], str]] = {"sqlite": lambda _: "?", "postgresql": lambda n: f"${n}"}


def _converted(dialect: Dialect, table: Table, names: tuple[str, ...],
               rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows' values in ``names`` order, each converted by its column type's bind processor."""
    converting = _processors(dialect, table, names)
    if not converting:
        return [tuple(row.values()) for row in rows]
    # Column by column (``zip`` transposes in C): only the converted columns are visited in Python.
    columns: list[Any] = list(zip(*[row.values() for row in rows], strict=True))
    for i, process in converting:
        # Each distinct value converted once: times and strings by value, JSON objects by
        # identity (kept alive in ``seen`` with their answer, so their ids stay theirs).
        seen: dict[Any, tuple[Any, Any]] = {}
        out: list[Any] = []
        append = out.append
        for value in columns[i]:
            if value is None:
                append(None)
                continue
            key = value if type(value) in _BY_VALUE else id(value)
            found = seen.get(key)
            if found is None:
                found = seen[key] = (value, process(value))
            append(found[1])
        columns[i] = out
    return list(zip(*columns, strict=True))


@functools.lru_cache(maxsize=512)
def _processors(dialect: Dialect, table: Table, names: tuple[str, ...]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """(position, bind processor) of the columns among ``names`` whose values are converted (made
    once per table and columns: making a processor is not free, and a batch makes a dozen inserts)."""
    return tuple((i, process) for i, n in enumerate(names)
                 if (process := table.c[n].type.dialect_impl(dialect).bind_processor(dialect)))


_BY_VALUE = frozenset({datetime, str, int, bool, float})


@functools.cache
def _insert_statement(dialect: str, table: Table, conflict: tuple[str, ...], set_columns: tuple[str, ...]) -> Any:
    """The statement for PostgreSQL (built once: building one is not cheap)."""
    if not conflict:
        return insert(table)
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    if not set_columns:
        return statement.on_conflict_do_nothing(index_elements=list(conflict))
    return statement.on_conflict_do_update(index_elements=list(conflict),
                                           set_={n: statement.excluded[n] for n in set_columns})
