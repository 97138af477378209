"""The teams domain's side of ``tocsin.http.wiring.TeamDirectory``: what the users domain (below
teams in the layers) needs to know about teams. The composition root puts ``DIRECTORY`` into
``Runtime.wiring``; the users domain reaches teams only through it."""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.teams.models import Team, TeamMember
from tocsin.teams.queries import existing_team_ids, team_ids_of_users, user_ids_of_teams
from tocsin.teams.wire import team_json, team_ref


class TeamDirectory:
    """Implements ``tocsin.http.wiring.TeamDirectory``."""

    async def team_refs_of_users(
        self, session: AsyncSession, base: str, user_ids: list[str], *, expand: bool = False,
    ) -> dict[str, list[dict[str, Any]]]:
        memberships = await team_ids_of_users(session, user_ids)
        wanted = {t for ids in memberships.values() for t in ids}
        teams = ({t.id: t for t in (await session.execute(select(Team).where(Team.id.in_(wanted)))).scalars()}
                 if wanted else {})
        parents: dict[str, Team] = {}
        if expand:
            parent_ids = {t.parent_id for t in teams.values() if t.parent_id}
            if parent_ids:
                parents = {
                    t.id: t for t in (await session.execute(select(Team).where(Team.id.in_(parent_ids)))).scalars()
                }
        render = ((lambda t: team_json(base, t, parents.get(t.parent_id or ""))) if expand
                  else (lambda t: team_ref(base, t)))
        return {user: [render(teams[t]) for t in ids] for user, ids in memberships.items()}

    async def user_ids_of_teams(self, session: AsyncSession, team_ids: list[str]) -> set[str]:
        return await user_ids_of_teams(session, team_ids)

    async def existing_team_ids(self, session: AsyncSession, team_ids: list[str]) -> set[str]:
        return await existing_team_ids(session, team_ids)

    async def remove_user(self, session: AsyncSession, user_id: str) -> None:
        await session.execute(delete(TeamMember).where(TeamMember.user_id == user_id))


DIRECTORY = TeamDirectory()
