"""``column IN <a list of values>`` as one bound parameter, whatever the list's length.

SQLAlchemy's ``column.in_(values)`` binds one parameter per value and expands the statement at
every execution (``__[POSTCOMPILE]``): on PostgreSQL each of the 200 values of an engine batch
also gets a rendered ``::VARCHAR`` cast. The engine's batches run a dozen such statements each,
and that expansion cost more CPU than the rows themselves (ARCHITECTURE.md, "The paging engine").

``one_of(column, values)`` binds the whole list as one value instead, so the statement's text
never changes and is compiled once:

- PostgreSQL: ``column = ANY($1::VARCHAR[])`` (an array; uses the column's index as IN does);
- SQLite: ``column IN (SELECT value FROM json_each(?))`` (a JSON array; SQLite searches the
  column's index once per value, as it does for an IN list).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import ARRAY, Boolean, String, TypeDecorator, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class ValueList(TypeDecorator[list[Any]]):
    """A list bound as one parameter: an array on PostgreSQL, JSON text on SQLite."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(String()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Iterable[Any] | None, dialect: Any) -> Any:
        values = list(value) if value is not None else []
        return values if dialect.name == "postgresql" else orjson.dumps(values).decode()


class _ColumnAndList(ColumnElement[bool]):
    """A test of ``column`` against the list bound to ``values``; each subclass renders its own."""

    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012  # SQLAlchemy's own declaration: an instance variable
        ("column", InternalTraversal.dp_clauseelement), ("values", InternalTraversal.dp_clauseelement)]
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison: never rendered as ``(...) = 1`` on SQLite

    def __init__(self, column: ColumnElement[Any], values: BindParameter[Any]) -> None:
        self.column = column
        self.values = values


class OneOf(_ColumnAndList):
    """``column`` equals one of the values bound to ``values`` (see the module doc)."""

    __visit_name__ = "one_of"
    inherit_cache = True  # each class must say so itself, or SQLAlchemy compiles it every time


def one_of(column: Any, values: Iterable[Any] | None = None, *, name: str | None = None) -> OneOf:
    """``column`` is one of ``values`` (bound now), or of the list later passed as parameter
    ``name`` (a statement built once at import, executed with ``{name: [...]}``)."""
    if name is not None:
        return OneOf(column, bindparam(name, type_=ValueList()))
    return OneOf(column, bindparam(None, list(values or ()), type_=ValueList(), unique=True))


@compiles(OneOf, "postgresql")
def _postgresql(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.values, **kw)})"


@compiles(OneOf)
def _default(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:  # SQLite
    values = compiler.process(element.values, **kw)
    return f"{compiler.process(element.column, **kw)} IN (SELECT value FROM json_each({values}))"


class HoldsOneOf(_ColumnAndList):
    """The JSON array in ``column`` holds one of the values bound to ``values`` (strings)."""

    __visit_name__ = "holds_one_of"
    inherit_cache = True


def holds_one_of(column: Any, *, name: str) -> HoldsOneOf:
    """The JSON array of strings in ``column`` holds one of the list passed as parameter ``name``.
    No index serves it: for small tables (the message receipts waiting to be recorded)."""
    return HoldsOneOf(column, bindparam(name, type_=ValueList()))


@compiles(HoldsOneOf, "postgresql")
def _postgresql_holds(element: HoldsOneOf, compiler: SQLCompiler, **kw: Any) -> str:
    # jsonb ?| text[]: does the array hold any of these strings
    return f"({compiler.process(element.column, **kw)} ?| {compiler.process(element.values, **kw)})"


@compiles(HoldsOneOf)
def _default_holds(element: HoldsOneOf, compiler: SQLCompiler, **kw: Any) -> str:  # SQLite
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    return (f"EXISTS (SELECT 1 FROM json_each({column}) AS held "
            f"WHERE held.value IN (SELECT value FROM json_each({values})))")
