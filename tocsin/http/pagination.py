"""PagerDuty's classic offset pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.errors import InvalidInput
from tocsin.http.params import boolean

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_WINDOW = 10_000


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    want_total: bool

    async def fetch(self, session: AsyncSession, query: Select[Any]) -> tuple[list[Any], int]:
        """This page of ``query``'s rows and the total count, in the caller's transaction."""
        counted = select(func.count()).select_from(query.order_by(None).subquery())
        total = (await session.execute(counted)).scalar_one()
        rows = list((await session.execute(query.offset(self.offset).limit(self.limit))).scalars())
        return rows, total

    async def fetch_page(
        self, session: AsyncSession, query: Select[Any], count_query: Select[Any] | None = None,
    ) -> tuple[list[Any], int | None, bool]:
        """This page of ``query``'s rows, the total (counted only when ``total=true`` was asked:
        a count reads every matching row, the page only ``limit`` of them) and whether more
        follow (one row past the page is read to know). ``count_query``, when given, is what
        is counted (the same rows as ``query``, written for counting)."""
        rows = list((await session.execute(query.offset(self.offset).limit(self.limit + 1))).scalars())
        more = len(rows) > self.limit
        del rows[self.limit:]
        total = None
        if self.want_total:
            counted = select(func.count()).select_from(
                (query if count_query is None else count_query).order_by(None).subquery())
            total = (await session.execute(counted)).scalar_one()
        return rows, total, more

    def body(self, key: str, items: list[Any], total: int | None, has_more: bool) -> dict[str, Any]:
        return {
            key: items,
            "limit": self.limit,
            "offset": self.offset,
            "more": has_more,
            "total": total if self.want_total else None,
        }


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(errors=[f"{name} must be an integer"]) from None


def page(request: Request) -> Page:
    limit = _int(request, "limit", DEFAULT_LIMIT)
    offset = _int(request, "offset", 0)
    if limit < 1 or offset < 0:
        raise InvalidInput(errors=["limit must be positive and offset non-negative"])
    limit = min(limit, MAX_LIMIT)
    if offset + limit > MAX_WINDOW:
        raise InvalidInput(errors=[f"Offset + limit must be at most {MAX_WINDOW}"])
    return Page(limit, offset, boolean(request, "total"))


def name_contains(column: Any, text: str) -> ColumnElement[bool]:
    """PagerDuty's ``query=`` filter: case-insensitive substring, with % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
