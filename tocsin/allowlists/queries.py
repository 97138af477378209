"""Reads of the allow lists (the guard loads them through ``stored_lists``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.allowlists.models import IpAllowList


async def all_lists(session: AsyncSession) -> list[IpAllowList]:
    return list((await session.execute(
        select(IpAllowList).order_by(IpAllowList.created_at, IpAllowList.id))).scalars())


def stored(row: IpAllowList) -> dict[str, Any]:
    """A list as plain values (what ``policy.ListRule.from_stored`` and the audit trail read)."""
    return {"id": row.id, "state": row.state, "applies_to": list(row.applies_to),
            "cidr_entries": [dict(e) for e in row.cidr_entries]}


async def stored_lists(session: AsyncSession) -> list[dict[str, Any]]:
    return [stored(row) for row in await all_lists(session)]
