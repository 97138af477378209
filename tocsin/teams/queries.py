"""The teams domain's public read surface for other domains (each takes the caller's session)."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.teams.models import Team, TeamMember


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in ids if i))


async def team_refs(session: AsyncSession, ids: Iterable[str]) -> dict[str, str]:
    """Name of each given team that exists and is not deleted, keyed by id."""
    wanted = _unique(ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Team.id, Team.name).where(Team.id.in_(wanted), Team.deleted_at.is_(None)))
    return dict(rows.all())


async def existing_team_ids(session: AsyncSession, ids: Iterable[str]) -> set[str]:
    return set(await team_refs(session, ids))


async def team_ids_of_users(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, list[str]]:
    """The (non-deleted) teams each user belongs to; users in no team are absent."""
    wanted = _unique(user_ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(TeamMember.user_id, TeamMember.team_id)
        .join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.user_id.in_(wanted), Team.deleted_at.is_(None))
        .order_by(TeamMember.user_id, Team.name, Team.id)
    )
    result: dict[str, list[str]] = {}
    for user_id, team_id in rows.all():
        result.setdefault(user_id, []).append(team_id)
    return result


async def user_ids_of_teams(session: AsyncSession, team_ids: Iterable[str]) -> set[str]:
    """Every member of the given (non-deleted) teams."""
    wanted = _unique(team_ids)
    if not wanted:
        return set()
    rows = await session.execute(
        select(TeamMember.user_id).join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.team_id.in_(wanted), Team.deleted_at.is_(None))
    )
    return set(rows.scalars())
