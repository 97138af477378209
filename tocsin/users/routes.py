"""REST routes: /users, /users/me, /users/{id}/contact_methods, /users/{id}/notification_rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.access import Principal, acting_user, audit_actor, require
from tocsin.auth.models import User
from tocsin.errors import InvalidInput, NoUserForCredential
from tocsin.http import includes
from tocsin.http.pagination import name_contains, page
from tocsin.http.params import PAGE, array, documented, text_filter
from tocsin.http.runtime import Runtime, runtime
from tocsin.http.wiring import TeamDirectory
from tocsin.users import contact_logic, logic
from tocsin.users.logic import Editor
from tocsin.users.schemas import (
    ContactMethodCreateBody,
    ContactMethodUpdateBody,
    NotificationRuleCreateBody,
    NotificationRuleUpdateBody,
    UserCreateBody,
    UserUpdateBody,
)
from tocsin.users.wire import contact_method_json, notification_rule_json, user_json

router = APIRouter(tags=["Users"])
READ = require("users.read")
WRITE = require("users.write")

# include[] values PagerDuty documents for each operation (tests/api/test_includes.py checks them).
# subdomains and calendar_urls are accepted; Tocsin has one account and shows feeds elsewhere.
LIST_INCLUDES = ("contact_methods", "notification_rules", "teams", "subdomains")
USER_INCLUDES = ("contact_methods", "notification_rules", "teams", "subdomains", "calendar_urls")
RULE_INCLUDES = ("contact_methods",)


def _teams(rt: Runtime) -> TeamDirectory:
    return rt.wiring.team_directory


def _editor(principal: Principal, request: Request) -> Editor:
    return Editor(role=principal.role, user_id=principal.user_id, audit=audit_actor(principal, request))


async def _render(
    session: AsyncSession, rt: Runtime, users: list[User], include: frozenset[str],
) -> list[dict[str, Any]]:
    ids = [u.id for u in users]
    methods, rules = await logic.details_of(session, ids)
    teams = await _teams(rt).team_refs_of_users(session, rt.base_url, ids, expand="teams" in include)
    return [
        user_json(rt.base_url, u, teams=teams.get(u.id, []), methods=methods[u.id], rules=rules[u.id],
                  include=include)
        for u in users
    ]


@router.get("/users", openapi_extra=documented(*PAGE, "query", "team_ids[]", "include[]"))
async def list_users(request: Request, rt: Runtime = Depends(runtime), _: Principal = Depends(READ)) -> dict[str, Any]:
    p = page(request)
    include = includes.asked(request, LIST_INCLUDES)
    where: list[ColumnElement[bool]] = [User.deleted_at.is_(None)]
    query_text = text_filter(request, "query")
    if query_text:
        where.append(or_(name_contains(User.name, query_text), name_contains(User.email, query_text)))
    async with rt.db.transaction() as session:
        team_ids = array(request, "team_ids")
        if team_ids:
            where.append(User.id.in_(await _teams(rt).user_ids_of_teams(session, team_ids)))
        rows, total = await p.fetch(session, select(User).where(*where).order_by(User.name, User.id))
        items = await _render(session, rt, rows, include)
    return p.body("users", items, total, p.offset + len(items) < total)


@router.post("/users", status_code=201)
async def create_user(
    body: UserCreateBody, request: Request, rt: Runtime = Depends(runtime), principal: Principal = Depends(WRITE),
) -> dict[str, Any]:
    await acting_user(request, principal, rt)  # PagerDuty requires From here for account keys
    async with rt.db.transaction() as session:
        user = await logic.create_user(session, _editor(principal, request), body.user, rt.clock.now())
        [item] = await _render(session, rt, [user], frozenset())
    return {"user": item}


@router.get("/users/me", openapi_extra=documented("include[]"))
async def get_me(
    request: Request, rt: Runtime = Depends(runtime), principal: Principal = Depends(READ),
) -> dict[str, Any]:
    if principal.user_id is None:
        raise NoUserForCredential()
    return await _one(request, rt, principal.user_id)


async def _one(request: Request, rt: Runtime, user_id: str) -> dict[str, Any]:
    include = includes.asked(request, USER_INCLUDES)
    async with rt.db.transaction() as session:
        user = await logic.get_user(session, user_id)
        [item] = await _render(session, rt, [user], include)
    return {"user": item}


@router.get("/users/{user_id}", openapi_extra=documented("include[]"))
async def get_user(
    user_id: str, request: Request, rt: Runtime = Depends(runtime), _: Principal = Depends(READ),
) -> dict[str, Any]:
    return await _one(request, rt, user_id)


@router.put("/users/{user_id}")
async def update_user(
    user_id: str, body: UserUpdateBody, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = Depends(WRITE),
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        user = await logic.update_user(session, _editor(principal, request), user_id, body.user, rt.wiring,
                                       rt.clock.now())
        [item] = await _render(session, rt, [user], frozenset())
    return {"user": item}


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(
    user_id: str, request: Request, rt: Runtime = Depends(runtime), principal: Principal = Depends(WRITE),
) -> Response:
    async with rt.db.transaction() as session:
        await logic.delete_user(session, _editor(principal, request), user_id, rt.wiring, rt.clock.now())
    return Response(status_code=204)


# --- contact methods -----------------------------------------------------------------------------

@router.get("/users/{user_id}/contact_methods")
async def list_contact_methods(
    user_id: str, rt: Runtime = Depends(runtime), _: Principal = Depends(READ),
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        user = await logic.get_user(session, user_id)
        methods, _rules = await logic.details_of(session, [user.id])
    return {"contact_methods": [contact_method_json(rt.base_url, m) for m in methods[user.id]]}


@router.post("/users/{user_id}/contact_methods", status_code=201)
async def create_contact_method(
    user_id: str, body: ContactMethodCreateBody, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = Depends(WRITE),
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        method = await contact_logic.create_method(session, _editor(principal, request), user_id, body.contact_method,
                                           rt.clock.now())
    return {"contact_method": contact_method_json(rt.base_url, method)}


@router.get("/users/{user_id}/contact_methods/{method_id}")
async def get_contact_method(
    user_id: str, method_id: str, rt: Runtime = Depends(runtime), _: Principal = Depends(READ),
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        await logic.get_user(session, user_id)
        method = await contact_logic.get_method(session, user_id, method_id)
    return {"contact_method": contact_method_json(rt.base_url, method)}


@router.put("/users/{user_id}/contact_methods/{method_id}")
async def update_contact_method(
    user_id: str, method_id: str, body: ContactMethodUpdateBody, request: Request,
    rt: Runtime = Depends(runtime), principal: Principal = Depends(WRITE),
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        method = await contact_logic.update_method(session, _editor(principal, request), user_id, method_id,
                                           body.contact_method, rt.clock.now())
    return {"contact_method": contact_method_json(rt.base_url, method)}


@router.delete("/users/{user_id}/contact_methods/{method_id}", status_code=204)
async def delete_contact_method(
    user_id: str, method_id: str, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = Depends(WRITE),
) -> Response:
    async with rt.db.transaction() as session:
        await contact_logic.delete_method(session, _editor(principal, request), user_id, method_id, rt.clock.now())
    return Response(status_code=204)


# --- notification rules --------------------------------------------------------------------------

@router.get("/users/{user_id}/notification_rules", openapi_extra=documented("urgency", "include[]"))
async def list_notification_rules(
    user_id: str, request: Request, rt: Runtime = Depends(runtime), _: Principal = Depends(READ),
) -> dict[str, Any]:
    urgency = request.query_params.get("urgency") or "high"  # PagerDuty's default
    if urgency not in ("high", "low", "all"):
        raise InvalidInput(errors=["urgency must be high, low or all"])
    expand = "contact_methods" in includes.asked(request, RULE_INCLUDES)
    async with rt.db.transaction() as session:
        user = await logic.get_user(session, user_id)
        methods, rules = await logic.details_of(session, [user.id])
    by_id = {m.id: m for m in methods[user.id]}
    return {"notification_rules": [
        notification_rule_json(rt.base_url, r, by_id[r.contact_method_id], expand_method=expand)
        for r in rules[user.id] if urgency == "all" or r.urgency == urgency
    ]}


@router.post("/users/{user_id}/notification_rules", status_code=201)
async def create_notification_rule(
    user_id: str, body: NotificationRuleCreateBody, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = Depends(WRITE),
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        rule, method = await contact_logic.create_rule(session, _editor(principal, request), user_id,
                                               body.notification_rule, rt.clock.now())
    return {"notification_rule": notification_rule_json(rt.base_url, rule, method)}


@router.get("/users/{user_id}/notification_rules/{rule_id}")
async def get_notification_rule(
    user_id: str, rule_id: str, request: Request, rt: Runtime = Depends(runtime), _: Principal = Depends(READ),
) -> dict[str, Any]:
    expand = "contact_methods" in includes.asked(request, RULE_INCLUDES)
    async with rt.db.transaction() as session:
        await logic.get_user(session, user_id)
        rule = await contact_logic.get_rule(session, user_id, rule_id)
        method = await contact_logic.get_method(session, user_id, rule.contact_method_id)
    return {"notification_rule": notification_rule_json(rt.base_url, rule, method, expand_method=expand)}


@router.put("/users/{user_id}/notification_rules/{rule_id}")
async def update_notification_rule(
    user_id: str, rule_id: str, body: NotificationRuleUpdateBody, request: Request,
    rt: Runtime = Depends(runtime), principal: Principal = Depends(WRITE),
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        rule, method = await contact_logic.update_rule(session, _editor(principal, request), user_id, rule_id,
                                               body.notification_rule, rt.clock.now())
    return {"notification_rule": notification_rule_json(rt.base_url, rule, method)}


@router.delete("/users/{user_id}/notification_rules/{rule_id}", status_code=204)
async def delete_notification_rule(
    user_id: str, rule_id: str, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = Depends(WRITE),
) -> Response:
    async with rt.db.transaction() as session:
        await contact_logic.delete_rule(session, _editor(principal, request), user_id, rule_id, rt.clock.now())
    return Response(status_code=204)
