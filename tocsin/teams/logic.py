"""Changes to teams and their membership, in the caller's transaction, each with its audit record."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.errors import AccessDenied, InvalidInput, NotFound
from tocsin.ids import new_id
from tocsin.teams.models import Team, TeamMember
from tocsin.teams.schemas import TeamCreate, TeamFields
from tocsin.users.queries import existing_user_ids

ADMIN_ROLES = frozenset({"owner", "admin"})
MAX_DEPTH = 10  # how deep teams may nest; also bounds the cycle check


@dataclass(frozen=True)
class Editor:
    """Who is making a change: the credential's role and user (None, None for an account key)."""

    role: str | None
    user_id: str | None
    audit: Actor

    @property
    def is_admin(self) -> bool:
        return self.role is None or self.role in ADMIN_ROLES


def team_snapshot(team: Team) -> dict[str, Any]:
    return {"name": team.name, "description": team.description, "default_role": team.default_role,
            "parent_id": team.parent_id}


async def get_team(session: AsyncSession, team_id: str) -> Team:
    team = await session.get(Team, team_id)
    if team is None or team.deleted_at is not None:
        raise NotFound(f"Team {team_id} not found", errors=["Team not found"])
    return team


async def _require_manager(session: AsyncSession, editor: Editor, team: Team) -> None:
    """Admins manage every team; a team's managers manage that team."""
    if editor.is_admin:
        return
    member = await session.get(TeamMember, (team.id, editor.user_id or ""))
    if member is None or member.role != "manager":
        raise AccessDenied(errors=["Only admins and the team's managers may change this team"])


async def _check_parent(session: AsyncSession, team_id: str | None, parent_id: str) -> None:
    parent = await session.get(Team, parent_id)
    if parent is None or parent.deleted_at is not None:
        raise InvalidInput(errors=["parent: no such team"])
    seen = 0
    current: Team | None = parent
    while current is not None:
        if current.id == team_id:
            raise InvalidInput(errors=["parent: a team cannot be nested under itself or its own sub-team"])
        seen += 1
        if seen > MAX_DEPTH:
            raise InvalidInput(errors=[f"parent: teams may nest at most {MAX_DEPTH} deep"])
        current = await session.get(Team, current.parent_id) if current.parent_id else None


async def _apply(session: AsyncSession, team: Team, fields: TeamFields, team_id: str | None) -> None:
    data = fields.model_dump(exclude_unset=True)
    for name in ("name", "description", "default_role"):
        if name in data:
            setattr(team, name, data[name])
    if "parent" in data:
        parent_id = (data["parent"] or {}).get("id")
        if parent_id:
            await _check_parent(session, team_id, parent_id)
        team.parent_id = parent_id


async def create_team(session: AsyncSession, editor: Editor, fields: TeamCreate, now: datetime) -> Team:
    if not editor.is_admin:
        raise AccessDenied(errors=["Only admins may create teams"])
    team = Team(id=new_id(), name=fields.name, default_role="manager", created_at=now, updated_at=now)
    await _apply(session, team, fields, None)
    session.add(team)
    await session.flush()
    record(session, editor.audit, action="create", resource_type="team", resource_id=team.id,
           summary=team.name, after=team_snapshot(team), at=now)
    return team


async def update_team(session: AsyncSession, editor: Editor, team_id: str, fields: TeamFields, now: datetime) -> Team:
    team = await get_team(session, team_id)
    await _require_manager(session, editor, team)
    before = team_snapshot(team)
    with session.no_autoflush:
        await _apply(session, team, fields, team.id)
    team.updated_at = now
    await session.flush()
    record(session, editor.audit, action="update", resource_type="team", resource_id=team.id,
           summary=team.name, before=before, after=team_snapshot(team), at=now)
    return team


async def delete_team(session: AsyncSession, editor: Editor, team_id: str, now: datetime) -> None:
    """Soft delete (incidents and policies may still name it); memberships and sub-team links end."""
    team = await get_team(session, team_id)
    if not editor.is_admin:
        raise AccessDenied(errors=["Only admins may delete teams"])
    before = team_snapshot(team)
    team.deleted_at = now
    await session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    children = list((await session.execute(
        select(Team).where(Team.parent_id == team.id, Team.deleted_at.is_(None)))).scalars())
    for child in children:
        child_before = team_snapshot(child)
        child.parent_id = None
        child.updated_at = now
        record(session, editor.audit, action="update", resource_type="team", resource_id=child.id,
               summary=child.name, before=child_before, after=team_snapshot(child), at=now)
    await session.flush()
    record(session, editor.audit, action="delete", resource_type="team", resource_id=team.id,
           summary=team.name, before=before, at=now)


async def members_of(session: AsyncSession, team_id: str) -> list[TeamMember]:
    return list((await session.execute(
        select(TeamMember).where(TeamMember.team_id == team_id))).scalars())


async def set_member(
    session: AsyncSession, editor: Editor, team_id: str, user_id: str, role: str | None, now: datetime,
) -> None:
    """Add ``user_id`` to the team, or change their role there (default: manager, as PagerDuty)."""
    team = await get_team(session, team_id)
    await _require_manager(session, editor, team)
    if not await existing_user_ids(session, [user_id]):
        raise NotFound(f"User {user_id} not found", errors=["User not found"])
    member = await session.get(TeamMember, (team.id, user_id))
    old_role = member.role if member is not None else None
    new_role = role or old_role or "manager"
    if member is None:
        session.add(TeamMember(team_id=team.id, user_id=user_id, role=new_role, created_at=now))
    else:
        member.role = new_role
    await session.flush()
    # Membership changes are recorded on the team, one field per member, so the team's audit
    # trail shows who joined, left or changed role.
    record(session, editor.audit, action="update", resource_type="team", resource_id=team.id,
           summary=team.name, before={f"members.{user_id}": old_role} if old_role else {},
           after={f"members.{user_id}": new_role}, at=now)


async def remove_member(session: AsyncSession, editor: Editor, team_id: str, user_id: str, now: datetime) -> None:
    team = await get_team(session, team_id)
    await _require_manager(session, editor, team)
    member = await session.get(TeamMember, (team.id, user_id))
    if member is None:
        raise NotFound(f"User {user_id} is not a member of team {team_id}", errors=["Membership not found"])
    record(session, editor.audit, action="update", resource_type="team", resource_id=team.id,
           summary=team.name, before={f"members.{user_id}": member.role}, after={}, at=now)
    await session.delete(member)
    await session.flush()
