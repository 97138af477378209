"""REST routes: /teams, /teams/{id}/members, /teams/{id}/users/{user_id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import ColumnElement, select

from tocsin.auth.access import Principal, audit_actor, require
from tocsin.http import includes
from tocsin.http.pagination import name_contains, page
from tocsin.http.params import PAGE, documented, text_filter
from tocsin.http.runtime import Runtime, runtime
from tocsin.teams import logic
from tocsin.teams.logic import Editor
from tocsin.teams.models import Team
from tocsin.teams.schemas import MembershipBody, TeamCreateBody, TeamUpdateBody
from tocsin.teams.wire import member_json, team_json
from tocsin.users.queries import user_refs

router = APIRouter(tags=["Teams"])
READ = require("teams.read")
WRITE = require("teams.write")


def _editor(principal: Principal, request: Request) -> Editor:
    return Editor(role=principal.role, user_id=principal.user_id, audit=audit_actor(principal, request))


async def _parents(session: Any, teams: list[Team]) -> dict[str, Team]:
    ids = {t.parent_id for t in teams if t.parent_id}
    if not ids:
        return {}
    return {t.id: t for t in (await session.execute(select(Team).where(Team.id.in_(ids)))).scalars()}


# include[] values PagerDuty documents (tests/api/test_includes.py checks them).
TEAM_INCLUDES = ("privileges",)  # accepted; Tocsin's access is by role, not per-team privileges
MEMBER_INCLUDES = ("users",)


@router.get("/teams", openapi_extra=documented(*PAGE, "query"))
async def list_teams(request: Request, rt: Runtime = Depends(runtime), _: Principal = Depends(READ)) -> dict[str, Any]:
    p = page(request)
    where: list[ColumnElement[bool]] = [Team.deleted_at.is_(None)]
    query_text = text_filter(request, "query")
    if query_text:
        where.append(name_contains(Team.name, query_text))
    async with rt.db.transaction() as session:
        rows, total = await p.fetch(session, select(Team).where(*where).order_by(Team.name, Team.id))
        parents = await _parents(session, rows)
    items = [team_json(rt.base_url, t, parents.get(t.parent_id or "")) for t in rows]
    return p.body("teams", items, total, p.offset + len(items) < total)


@router.post("/teams", status_code=201)
async def create_team(
    body: TeamCreateBody, request: Request, rt: Runtime = Depends(runtime), principal: Principal = Depends(WRITE),
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        team = await logic.create_team(session, _editor(principal, request), body.team, rt.clock.now())
        parents = await _parents(session, [team])
    return {"team": team_json(rt.base_url, team, parents.get(team.parent_id or ""))}


@router.get("/teams/{team_id}", openapi_extra=documented("include[]"))
async def get_team(
    team_id: str, request: Request, rt: Runtime = Depends(runtime), _: Principal = Depends(READ),
) -> dict[str, Any]:
    includes.asked(request, TEAM_INCLUDES, supported=())
    async with rt.db.transaction() as session:
        team = await logic.get_team(session, team_id)
        parents = await _parents(session, [team])
    return {"team": team_json(rt.base_url, team, parents.get(team.parent_id or ""))}


@router.put("/teams/{team_id}")
async def update_team(
    team_id: str, body: TeamUpdateBody, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = Depends(WRITE),
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        team = await logic.update_team(session, _editor(principal, request), team_id, body.team, rt.clock.now())
        parents = await _parents(session, [team])
    return {"team": team_json(rt.base_url, team, parents.get(team.parent_id or ""))}


@router.delete("/teams/{team_id}", status_code=204)
async def delete_team(
    team_id: str, request: Request, rt: Runtime = Depends(runtime), principal: Principal = Depends(WRITE),
) -> Response:
    async with rt.db.transaction() as session:
        await logic.delete_team(session, _editor(principal, request), team_id, rt.clock.now())
    return Response(status_code=204)


@router.get("/teams/{team_id}/members", openapi_extra=documented(*PAGE, "include[]"))
async def list_members(
    team_id: str, request: Request, rt: Runtime = Depends(runtime), _: Principal = Depends(READ),
) -> dict[str, Any]:
    p = page(request)
    expand = "users" in includes.asked(request, MEMBER_INCLUDES)
    async with rt.db.transaction() as session:
        await logic.get_team(session, team_id)
        members = await logic.members_of(session, team_id)
        people = await user_refs(session, [m.user_id for m in members])
    rows = sorted((m for m in members if m.user_id in people), key=lambda m: (people[m.user_id].name, m.user_id))
    window = rows[p.offset:p.offset + p.limit]
    items = []
    for m in window:
        item = member_json(rt.base_url, m.user_id, people[m.user_id].name, m.role)
        if expand:
            facts = people[m.user_id]
            item["user"].update(type="user", name=facts.name, email=facts.email, role=facts.role,
                                time_zone=facts.time_zone, color=facts.color)
        items.append(item)
    return p.body("members", items, len(rows), p.offset + len(items) < len(rows))


@router.put("/teams/{team_id}/users/{user_id}", status_code=204)
async def add_member(
    team_id: str, user_id: str, request: Request, body: MembershipBody | None = None,
    rt: Runtime = Depends(runtime), principal: Principal = Depends(WRITE),
) -> Response:
    async with rt.db.transaction() as session:
        await logic.set_member(session, _editor(principal, request), team_id, user_id,
                               body.role if body is not None else None, rt.clock.now())
    return Response(status_code=204)


@router.delete("/teams/{team_id}/users/{user_id}", status_code=204)
async def remove_member(
    team_id: str, user_id: str, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = Depends(WRITE),
) -> Response:
    async with rt.db.transaction() as session:
        await logic.remove_member(session, _editor(principal, request), team_id, user_id, rt.clock.now())
    return Response(status_code=204)
