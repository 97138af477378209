"""REST routes: /schedules, their overrides and on-call users, /schedules/preview, and iCal feeds.

Tocsin extensions (not in PagerDuty's API): ``GET /schedules/feeds/users/{user_id}`` shows a
user's feed URLs, and ``POST /schedules/{id}/feed/rotate`` / ``POST /schedules/feeds/users/{user_id}/rotate``
replace a feed's secret. The feeds themselves (``/private/{token}/feed/...``) are public: see
``tocsin.schedules.feeds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.access import Principal, audit_actor, require
from tocsin.errors import InvalidInput
from tocsin.http import includes
from tocsin.http.pagination import name_contains, page
from tocsin.http.params import PAGE, array, boolean, documented, text_filter
from tocsin.http.refs import iso
from tocsin.http.runtime import Runtime, runtime
from tocsin.schedules import feed_routes, feeds, logic, override_routes
from tocsin.schedules.layers import LayerDef
from tocsin.schedules.models import Schedule, ScheduleOverride, ScheduleTeam
from tocsin.schedules.params import time_zone, window
from tocsin.schedules.rendering import Rendering, TooManyTurns, check_page_turns, render
from tocsin.schedules.schemas import ScheduleCreateBody, SchedulePreviewBody, ScheduleUpdateBody
from tocsin.schedules.wire import schedule_json, user_json, user_ref
from tocsin.schedules.zones import zone_info
from tocsin.teams.queries import existing_team_ids, team_refs

router = APIRouter(tags=["Schedules"])
READ = Depends(require("schedules.read"))
WRITE = Depends(require("schedules.write"))

NEXT_ONCALL_HORIZON = timedelta(days=90)  # how far include_next_oncall_for_user looks ahead
PREVIEW_ID = "PREVIEW"  # a preview is never saved, so it has no feed
# include[] values PagerDuty documents for GET /schedules (tests/api/test_includes.py checks them);
# GET /schedules/{id} documents none and always renders every part.
LIST_INCLUDES = ("schedule_layers", "overrides_subschedule", "final_schedule")


async def _rendered(
    session: AsyncSession, rt: Runtime, request: Request, schedule: Schedule, versions: list[LayerDef],
    overrides_for: Sequence[ScheduleOverride] | None = None, *, after_write: bool = False,
    teams: Sequence[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The schedule rendered over the request's window.

    After a create or update the write stands even if the window is too dense to render (say, a
    one-second rotation): the answer then carries the definition without rendered entries.
    """
    since, until = window(request, rt.clock.now())
    overflow = boolean(request, "overflow")
    tz = time_zone(request)
    overrides = list(overrides_for) if overrides_for is not None else await logic.overrides_in(session, schedule.id)
    rendering: Rendering | None
    try:
        rendering = render(versions, overrides, schedule.time_zone, since, until, overflow)
    except TooManyTurns:
        if not after_write:
            raise
        rendering = None
    ids = {u for v in versions for u in v.users} | {o.user_id for o in overrides}
    users = await logic.users_by_id(session, ids)
    if teams is None:
        teams = (await logic.team_references(session, [schedule.id]))[schedule.id]
    body = schedule_json(rt.base_url, schedule, versions, users, tz, rendering, teams)
    if schedule.id != PREVIEW_ID:
        feed = (await feeds.schedule_feeds(session, [schedule.id], rt.clock.now()))[schedule.id]
        feeds.with_feed_urls(body, rt.base_url, feed)
    return body


def _only_included(body: dict[str, Any], included: frozenset[str]) -> dict[str, Any]:
    """Keep the rendered parts ``include[]`` asked for; layer definitions are always listed."""
    if "schedule_layers" not in included:
        for layer in body["schedule_layers"]:
            layer.pop("rendered_schedule_entries", None)
            layer.pop("rendered_coverage_percentage", None)
    for part in ("overrides_subschedule", "final_schedule"):
        if part not in included:
            body.pop(part, None)
    return body


@router.get("/schedules", dependencies=[READ],
            openapi_extra=documented(*PAGE, "query", "include[]", "time_zone", "since", "until", "team_ids[]"))
async def list_schedules(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """``query`` filters by name and ``team_ids[]`` by team; ``include[]`` renders layers,
    overrides or the final schedule over ``since``..``until`` (default: now and two weeks on),
    shown in ``time_zone``. All the page's renderings together are held to one budget
    (``rendering.MAX_TOTAL_TURNS``), checked before any is rendered."""
    p = page(request)
    query_text = text_filter(request, "query")
    included = includes.asked(request, LIST_INCLUDES)
    tz = time_zone(request)
    since, until = window(request, rt.clock.now())
    where: list[ColumnElement[bool]] = [Schedule.deleted_at.is_(None)]
    if query_text:
        where.append(name_contains(Schedule.name, query_text))
    team_ids = array(request, "team_ids")
    async with rt.db.transaction() as session:
        if team_ids:  # a deleted team is no longer shown on its schedules, so it matches none
            live = sorted(await existing_team_ids(session, team_ids))
            where.append(Schedule.id.in_(select(ScheduleTeam.schedule_id).where(ScheduleTeam.team_id.in_(live))))
        rows, total = await p.fetch(session, select(Schedule).where(*where).order_by(Schedule.name, Schedule.id))
        versions = await logic.layer_versions(session, [s.id for s in rows])
        if included:
            check_page_turns(versions.values(), since, until)
        overrides = {s.id: await logic.overrides_in(session, s.id) for s in rows} if included else {}
        renderings = {
            s.id: render(versions[s.id], overrides[s.id], s.time_zone, since, until, False)
            for s in rows
        } if included else {}
        ids = {u for vs in versions.values() for v in vs for u in v.users}
        ids |= {o.user_id for os_ in overrides.values() for o in os_}
        users = await logic.users_by_id(session, ids)
        teams = await logic.team_references(session, [s.id for s in rows])
        feed_of = await feeds.schedule_feeds(session, [s.id for s in rows], rt.clock.now())
    items = [
        feeds.with_feed_urls(_only_included(schedule_json(rt.base_url, s, versions[s.id], users, tz,
                                                          renderings.get(s.id), teams[s.id]), included),
                             rt.base_url, feed_of.get(s.id))
        for s in rows
    ]
    return p.body("schedules", items, total, p.offset + len(items) < total)


@router.post("/schedules", status_code=201)
async def create_schedule(
    body: ScheduleCreateBody, request: Request, rt: Runtime = Depends(runtime), principal: Principal = WRITE
) -> dict[str, Any]:
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        schedule = await logic.create_schedule(session, body.schedule, audit_actor(principal, request), now)
        versions = (await logic.layer_versions(session, [schedule.id]))[schedule.id]
        return {"schedule": await _rendered(session, rt, request, schedule, versions, [], after_write=True)}


@router.post("/schedules/preview", dependencies=[WRITE])
async def preview_schedule(
    body: SchedulePreviewBody, request: Request, rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """Render a schedule definition without saving anything."""
    now = rt.clock.now()
    fields = body.schedule
    schedule = Schedule(id=PREVIEW_ID, name=fields.name, description=fields.description,
                        time_zone=fields.time_zone, created_at=now, updated_at=now)
    async with rt.db.transaction() as session:
        await logic.check_preview_users(session, fields)
        names = await team_refs(session, [t.id for t in fields.teams or []])
        teams = sorted(names.items(), key=lambda ref: (ref[1], ref[0]))
        return {"schedule": await _rendered(session, rt, request, schedule, logic.preview_versions(fields), [],
                                            teams=teams)}


async def _next_oncall_user(session: AsyncSession, request: Request) -> str | None:
    """``include_next_oncall_for_user``: a user id, checked (400 naming the parameter)."""
    user_id = request.query_params.get("include_next_oncall_for_user")
    if not user_id:
        return None
    if user_id not in await logic.users_by_id(session, [user_id]):
        raise InvalidInput(errors=[f"include_next_oncall_for_user: user {user_id} not found"])
    return user_id


async def _next_oncall(
    session: AsyncSession, rt: Runtime, schedule: Schedule, versions: list[LayerDef], user_id: str,
    tz: ZoneInfo | None,
) -> dict[str, Any] | None:
    """The user's current or next shift in the final schedule within ``NEXT_ONCALL_HORIZON``."""
    now = rt.clock.now()
    overrides = await logic.overrides_in(session, schedule.id)
    try:
        rendering = render(versions, overrides, schedule.time_zone, now, now + NEXT_ONCALL_HORIZON, True)
    except TooManyTurns:
        return None
    entry = next((e for e in rendering.result.final if e.user == user_id and e.end > now), None)
    if entry is None:
        return None
    zone = tz or zone_info(schedule.time_zone)
    users = await logic.users_by_id(session, [user_id])
    return {"start": iso(entry.start, zone), "end": iso(entry.end, zone), "user": user_ref(rt.base_url, user_id, users)}


@router.get("/schedules/{schedule_id}", dependencies=[READ],
            openapi_extra=documented("since", "until", "overflow", "time_zone", "include_next_oncall_for_user"))
async def get_schedule(schedule_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        next_for = await _next_oncall_user(session, request)
        versions = (await logic.layer_versions(session, [schedule_id]))[schedule_id]
        body = await _rendered(session, rt, request, schedule, versions)
        if next_for is not None:
            found = await _next_oncall(session, rt, schedule, versions, next_for, time_zone(request))
            if found is not None:  # an object in PagerDuty's schema, never null: absent when none
                body["next_oncall_for_user"] = found
        return {"schedule": body}


@router.put("/schedules/{schedule_id}")
async def update_schedule(
    schedule_id: str, body: ScheduleUpdateBody, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = WRITE,
) -> dict[str, Any]:
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        schedule = await logic.update_schedule(session, schedule_id, body.schedule, audit_actor(principal, request),
                                               now)
        versions = (await logic.layer_versions(session, [schedule_id]))[schedule_id]
        return {"schedule": await _rendered(session, rt, request, schedule, versions, after_write=True)}


@router.delete("/schedules/{schedule_id}", status_code=204)
async def delete_schedule(
    schedule_id: str, request: Request, rt: Runtime = Depends(runtime), principal: Principal = WRITE
) -> Response:
    async with rt.db.transaction() as session:
        await logic.delete_schedule(session, schedule_id, rt.wiring, audit_actor(principal, request), rt.clock.now())
    return Response(status_code=204)


@router.get("/schedules/{schedule_id}/users", dependencies=[READ], openapi_extra=documented("since", "until"))
async def schedule_users(schedule_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """The users on call in the final schedule between ``since`` and ``until``."""
    since, until = window(request, rt.clock.now())
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        versions = (await logic.layer_versions(session, [schedule_id]))[schedule_id]
        overrides = await logic.overrides_in(session, schedule_id)
        rendering = render(versions, overrides, schedule.time_zone, since, until, False)
        order = list(dict.fromkeys(e.user for e in rendering.result.final))
        users = await logic.users_by_id(session, order)
    return {"users": [user_json(rt.base_url, users[u]) for u in order if u in users]}


# Registered after the routes above (FastAPI matches in order; none of these paths overlap).
router.include_router(override_routes.router)
router.include_router(feed_routes.router)
