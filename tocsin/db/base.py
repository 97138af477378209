"""Declarative base and column helpers shared by every domain's ORM models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import JSON, DateTime, MetaData, String, Table, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The lengths of SQLite's stored form (SQLAlchemy's, with or without microseconds): no offset.
_NAIVE_TEXT = frozenset({len("2026-12-06 08:00:00.000000"), len("2026-12-06 08:00:00")})


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which stores naive text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # SQLite: the text SQLAlchemy's DATETIME writes and reads (``2026-12-06 08:00:00.000000``),
    # converted in one step each way instead of two layered processors: the engine's batches read
    # and write a dozen times per incident, a few hundred thousand in an escalation storm.
    def bind_processor(self, dialect: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return to_text

    def result_processor(self, dialect: Any, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def from_text(value: str | datetime | None) -> datetime | None:
            if value is None:
                return None
            if isinstance(value, str) and len(value) in _NAIVE_TEXT and value[10] == " ":
                # Parsed as UTC in the one call (``replace(tzinfo=...)`` costs four times the parse).
                return datetime.fromisoformat(value + "+00:00")
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        return from_text


JSONType = JSON().with_variant(JSONB(), "postgresql")
IdColumn = String(16)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType,
    }


def table_of(model: type[Base]) -> Table:
    """A mapped class's ``Table``, for Core statements (bulk inserts, deletes by key): declarative
    types ``__table__`` as the wider ``FromClause``, but every model here is mapped to one table."""
    return cast(Table, model.__table__)
