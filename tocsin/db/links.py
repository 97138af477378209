"""Reading link tables (policy-team, window-service, schedule-team …) in one query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def linked(session: AsyncSession, parent: Any, child: Any, parent_ids: Sequence[str]) -> dict[str, list[str]]:
    """For each id in ``parent_ids``, the ``child`` column's values of its link rows, sorted.

    ``parent`` and ``child`` are the link table's two columns (``EscalationPolicyTeam.policy_id``,
    ``EscalationPolicyTeam.team_id``). Every asked-for parent is a key, with ``[]`` when unlinked.
    """
    found: dict[str, list[str]] = {pid: [] for pid in parent_ids}
    if parent_ids:
        rows = await session.execute(
            select(parent, child).where(parent.in_(list(parent_ids))).order_by(parent, child))
        for pid, cid in rows:
            found[pid].append(cid)
    return found
