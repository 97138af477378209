"""Many-row INSERTs for the planner, cheap on the events processor's hot path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows of ``table`` (every row with the same keys). SQLite (the events
    processor's hot path): each distinct value of a converted column (times, JSON) is converted
    once, by the column type's own bind processor, not once per row (a batch's rows share its
    instant, its due times and each policy's frozen path), and the rows go to the driver's
    executemany as they are: SQLAlchemy's per-row parameter handling was most of the planner's
    time in a batch."""
    dialect = session.get_bind().dialect
    if dialect.name != "sqlite":
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    converting = [(i, _memo(process)) for i, n in enumerate(names)
                  if (process := table.c[n].type.dialect_impl(dialect).bind_processor(dialect))]
    values = [list(row.values()) for row in rows]
    for i, convert in converting:
        for row_values in values:
            if (value := row_values[i]) is not None:
                row_values[i] = convert(value)
    quote = dialect.identifier_preparer.quote
    statement = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
                 f"VALUES ({', '.join('?' for _ in names)})")
    session.connection().exec_driver_sql(statement, [tuple(v) for v in values])


def _memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` remembering its answers: times by value, JSON objects by identity."""
    seen: dict[Any, Any] = {}
    keep: list[Any] = []  # the objects remembered by identity stay alive, so their ids stay theirs

    def convert(value: Any) -> Any:
        key = value if isinstance(value, datetime | str | int) else id(value)
        try:
            return seen[key]
        except KeyError:
            keep.append(value)
            seen[key] = found = process(value)
            return found
    return convert
