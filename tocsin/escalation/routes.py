"""REST routes: /escalation_policies, /teams/{id}/escalation_policies/{ep_id} and /oncalls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.access import Principal, audit_actor, require
from tocsin.errors import InvalidInput
from tocsin.escalation import logic
from tocsin.escalation.logic import PolicyView
from tocsin.escalation.models import EscalationPolicy, EscalationPolicyTeam, EscalationRule, EscalationTarget
from tocsin.escalation.oncalls import on_calls
from tocsin.escalation.schemas import PolicyCreateBody, PolicyUpdateBody
from tocsin.escalation.wire import Names, policy_json, policy_ref_json, schedule_json, user_json
from tocsin.http import includes
from tocsin.http.pagination import name_contains, page
from tocsin.http.params import PAGE, array, boolean, documented, optional_datetime, sort_by, text_filter, time_zone
from tocsin.http.refs import iso
from tocsin.http.runtime import Runtime, runtime
from tocsin.schedules.queries import schedule_refs
from tocsin.teams.queries import team_refs
from tocsin.users.queries import user_refs

router = APIRouter(tags=["Escalation Policies"])
READ = Depends(require("escalation_policies.read"))
WRITE = Depends(require("escalation_policies.write"))
ONCALLS_READ = Depends(require("oncalls.read"))

# include[] values PagerDuty documents (tests/api/test_includes.py checks them). Each rule's
# escalation_rule_assignment_strategy is always shown.
POLICY_INCLUDES = ("services", "teams", "targets", "escalation_rule_assignment_strategies")
ONCALL_INCLUDES = ("escalation_policies", "users", "schedules")
MAX_ONCALL_WINDOW = timedelta(days=90)  # PagerDuty's limit on until - since




async def _names(session: AsyncSession, views: Sequence[PolicyView]) -> Names:
    targets = [t for v in views for r in v.rules for t in r.targets]
    return Names(
        users=await user_refs(session, {t.id for t in targets if t.kind == "user"}),
        schedules=await schedule_refs(session, {t.id for t in targets if t.kind == "schedule"}),
        teams=await team_refs(session, {tid for v in views for tid in v.team_ids}),
    )


async def _render(session: AsyncSession, rt: Runtime, request: Request, policy: EscalationPolicy) -> dict[str, Any]:
    v = await logic.view(session, policy, rt.wiring, rt.clock.now())
    include = includes.asked(request, POLICY_INCLUDES)
    return {"escalation_policy": policy_json(rt.base_url, v, await _names(session, [v]), include, time_zone(request))}


@router.get("/escalation_policies", dependencies=[READ],
            openapi_extra=documented(*PAGE, "query", "user_ids[]", "team_ids[]", "include[]", "sort_by", "time_zone"))
async def list_policies(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    include = includes.asked(request, POLICY_INCLUDES)
    _, descending = sort_by(request, {"name"}, "name")
    tz = time_zone(request)
    where: list[ColumnElement[bool]] = [EscalationPolicy.deleted_at.is_(None)]
    if query_text := text_filter(request, "query"):
        where.append(name_contains(EscalationPolicy.name, query_text))
    if user_ids := array(request, "user_ids"):
        where.append(EscalationPolicy.id.in_(
            select(EscalationRule.policy_id).join(EscalationTarget, EscalationTarget.rule_id == EscalationRule.id)
            .where(EscalationTarget.user_id.in_(user_ids))
        ))
    if team_ids := array(request, "team_ids"):
        where.append(EscalationPolicy.id.in_(
            select(EscalationPolicyTeam.policy_id).where(EscalationPolicyTeam.team_id.in_(team_ids))
        ))
    order = EscalationPolicy.name.desc() if descending else EscalationPolicy.name.asc()
    async with rt.db.transaction() as session:
        rows, total = await p.fetch(session,
                                    select(EscalationPolicy).where(*where).order_by(order, EscalationPolicy.id))
        views = await logic.views(session, rows, rt.wiring, rt.clock.now())
        names = await _names(session, views)
    items = [policy_json(rt.base_url, v, names, include, tz) for v in views]
    return p.body("escalation_policies", items, total, p.offset + len(items) < total)


@router.post("/escalation_policies", status_code=201)
async def create_policy(
    body: PolicyCreateBody, request: Request, rt: Runtime = Depends(runtime), principal: Principal = WRITE
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        policy = await logic.create_policy(session, body.escalation_policy, audit_actor(principal, request),
                                           rt.clock.now())
        return await _render(session, rt, request, policy)


@router.get("/escalation_policies/{policy_id}", dependencies=[READ], openapi_extra=documented("include[]", "time_zone"))
async def get_policy(policy_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        policy = await logic.get_policy(session, policy_id)
        return await _render(session, rt, request, policy)


@router.put("/escalation_policies/{policy_id}")
async def update_policy(
    policy_id: str, body: PolicyUpdateBody, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = WRITE,
) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        policy = await logic.update_policy(session, policy_id, body.escalation_policy, audit_actor(principal, request),
                                           rt.clock.now())
        return await _render(session, rt, request, policy)


@router.delete("/escalation_policies/{policy_id}", status_code=204)
async def delete_policy(
    policy_id: str, request: Request, rt: Runtime = Depends(runtime), principal: Principal = WRITE
) -> Response:
    async with rt.db.transaction() as session:
        await logic.delete_policy(session, policy_id, rt.wiring, audit_actor(principal, request), rt.clock.now())
    return Response(status_code=204)


async def _team_change(
    request: Request, rt: Runtime, principal: Principal, team_id: str, policy_id: str, add: bool,
) -> None:
    change = logic.add_team if add else logic.remove_team
    async with rt.db.transaction() as session:
        await change(session, team_id, policy_id, audit_actor(principal, request), rt.clock.now())


@router.put("/teams/{team_id}/escalation_policies/{escalation_policy_id}", status_code=204)
async def add_policy_to_team(
    team_id: str, escalation_policy_id: str, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = Depends(require("teams.write")),
) -> Response:
    await _team_change(request, rt, principal, team_id, escalation_policy_id, add=True)
    return Response(status_code=204)


@router.delete("/teams/{team_id}/escalation_policies/{escalation_policy_id}", status_code=204)
async def remove_policy_from_team(
    team_id: str, escalation_policy_id: str, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = Depends(require("teams.write")),
) -> Response:
    await _team_change(request, rt, principal, team_id, escalation_policy_id, add=False)
    return Response(status_code=204)


@router.get("/oncalls", dependencies=[ONCALLS_READ], tags=["On-Calls"],
            openapi_extra=documented(*PAGE, "time_zone", "include[]", "user_ids[]", "escalation_policy_ids[]",
                                     "schedule_ids[]", "since", "until", "earliest"))
async def list_oncalls(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """On-calls between ``since`` and ``until`` (both default to now: who is on call now)."""
    p = page(request)
    include = includes.asked(request, ONCALL_INCLUDES)
    tz = time_zone(request)
    now = rt.clock.now()
    since = optional_datetime(request, "since") or now
    until = optional_datetime(request, "until") or (since if since > now else now)
    if until < since:
        raise InvalidInput(errors=["until must not be before since"])
    if until - since > MAX_ONCALL_WINDOW:
        raise InvalidInput(errors=[f"until - since may be at most {MAX_ONCALL_WINDOW.days} days"])
    async with rt.db.transaction() as session:
        found, policy_names = await on_calls(
            session, since, until,
            policy_ids=array(request, "escalation_policy_ids"), user_ids=array(request, "user_ids"),
            schedule_ids=array(request, "schedule_ids"), earliest=boolean(request, "earliest"),
        )
        users = await user_refs(session, {o.user_id for o in found})
        found = [o for o in found if o.user_id in users]  # deleted users are on call nowhere
        window = found[p.offset:p.offset + p.limit]
        names = Names(users=users, policies=policy_names,
                      schedules=await schedule_refs(session, {o.schedule_id for o in window if o.schedule_id}))
    base = rt.base_url
    items = [
        {
            "escalation_policy": policy_ref_json(base, o.policy_id, names, "escalation_policies" in include),
            "escalation_level": o.level,
            "schedule": schedule_json(base, o.schedule_id, names, "schedules" in include) if o.schedule_id else None,
            "user": user_json(base, o.user_id, names, "users" in include),
            "start": iso(o.start, tz),
            "end": iso(o.end, tz),
        }
        for o in window
    ]
    return p.body("oncalls", items, len(found), p.offset + len(items) < len(found))
