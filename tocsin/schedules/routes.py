"""REST routes: /schedules, their overrides and on-call users, /schedules/preview, and iCal feeds.

Tocsin extensions (not in PagerDuty's API): ``GET /schedules/feeds/users/{user_id}`` shows a
user's feed URLs, and ``POST /schedules/{id}/feed/rotate`` / ``POST /schedules/feeds/users/{user_id}/rotate``
replace a feed's secret. The feeds themselves (``/private/{token}/feed/...``) are public: see
``tocsin.schedules.feeds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.auth.access import Principal, audit_actor, require
from tocsin.errors import AccessDenied, Conflict, InvalidInput
from tocsin.http.pagination import name_contains, page
from tocsin.http.params import array, boolean, optional_datetime
from tocsin.http.refs import iso
from tocsin.http.runtime import Runtime, runtime
from tocsin.schedules import feeds, ical, logic
from tocsin.schedules.logic import LayerDef
from tocsin.schedules.models import Schedule, ScheduleOverride, ScheduleTeam
from tocsin.schedules.schemas import (
    OverrideIn,
    OverridesBody,
    ScheduleCreateBody,
    SchedulePreviewBody,
    ScheduleUpdateBody,
)
from tocsin.schedules.wire import (
    override_json,
    override_snapshot,
    schedule_json,
    schedule_snapshot,
    user_json,
    user_ref,
)
from tocsin.schedules.zones import zone_info
from tocsin.teams.queries import existing_team_ids, team_refs

router = APIRouter(tags=["Schedules"])
READ = Depends(require("schedules.read"))
WRITE = Depends(require("schedules.write"))

DEFAULT_WINDOW = timedelta(days=14)
NEXT_ONCALL_HORIZON = timedelta(days=90)  # how far include_next_oncall_for_user looks ahead
PREVIEW_ID = "PREVIEW"  # a preview is never saved, so it has no feed
INCLUDES = ("schedule_layers", "overrides_subschedule", "final_schedule")
# Roles that may see and rotate another user's feed (a user's own key always may).
FEED_MANAGERS = {"owner", "admin", "manager", "global_admin"}


def time_zone(request: Request) -> ZoneInfo | None:
    """``time_zone``: an IANA or ActiveSupport name ("Eastern Time (US & Canada)"), as PagerDuty takes."""
    raw = request.query_params.get("time_zone")
    if not raw:
        return None
    try:
        return zone_info(raw)
    except ValueError:
        raise InvalidInput(errors=[f"time_zone {raw!r} is not a valid time zone"]) from None


def _includes(request: Request) -> set[str]:
    wanted = set(array(request, "include"))
    unknown = sorted(wanted - set(INCLUDES))
    if unknown:
        raise InvalidInput(errors=[f"include[] {', '.join(unknown)} is not one of {', '.join(INCLUDES)}"])
    return wanted


def _with_feed(body: dict[str, Any], base: str, feed: Any) -> dict[str, Any]:
    if feed is not None:
        body.update(feeds.feed_urls(base, feed))
    return body


async def _snapshot(session: AsyncSession, schedule: Schedule) -> dict[str, Any]:
    versions = (await logic.layer_versions(session, [schedule.id]))[schedule.id]
    return schedule_snapshot(schedule, versions, (await logic.teams_of(session, [schedule.id]))[schedule.id])


def _window(request: Request, now: datetime) -> tuple[datetime, datetime]:
    """``since`` (default now) and ``until`` (default two weeks after ``since``), checked."""
    since = optional_datetime(request, "since") or now
    until = optional_datetime(request, "until") or since + DEFAULT_WINDOW
    logic.check_window(since, until)
    return since, until


async def _rendered(
    session: AsyncSession, rt: Runtime, request: Request, schedule: Schedule, versions: list[LayerDef],
    overrides_for: Sequence[ScheduleOverride] | None = None, *, after_write: bool = False,
    teams: Sequence[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The schedule rendered over the request's window.

    After a create or update the write stands even if the window is too dense to render (say, a
    one-second rotation): the answer then carries the definition without rendered entries.
    """
    since, until = _window(request, rt.clock.now())
    overflow = boolean(request, "overflow")
    tz = time_zone(request)
    overrides = list(overrides_for) if overrides_for is not None else await logic.overrides_in(session, schedule.id)
    rendering: logic.Rendering | None
    try:
        rendering = logic.render(versions, overrides, schedule.time_zone, since, until, overflow)
    except logic.TooManyTurns:
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
        _with_feed(body, rt.base_url, feed)
    return body


def _only_included(body: dict[str, Any], included: set[str]) -> dict[str, Any]:
    """Keep the rendered parts ``include[]`` asked for; layer definitions are always listed."""
    if "schedule_layers" not in included:
        for layer in body["schedule_layers"]:
            layer.pop("rendered_schedule_entries", None)
            layer.pop("rendered_coverage_percentage", None)
    for part in ("overrides_subschedule", "final_schedule"):
        if part not in included:
            body.pop(part, None)
    return body


@router.get("/schedules", dependencies=[READ])
async def list_schedules(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """``query`` filters by name and ``team_ids[]`` by team; ``include[]`` renders layers,
    overrides or the final schedule over ``since``..``until`` (default: now and two weeks on),
    shown in ``time_zone``. All the page's renderings together are held to one budget
    (``logic.MAX_TOTAL_TURNS``), checked before any is rendered."""
    p = page(request)
    query_text = request.query_params.get("query")
    included = _includes(request)
    tz = time_zone(request)
    since, until = _window(request, rt.clock.now())
    where = [Schedule.deleted_at.is_(None)]
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
            logic.check_page_turns(versions.values(), since, until)
        overrides = {s.id: await logic.overrides_in(session, s.id) for s in rows} if included else {}
        renderings = {
            s.id: logic.render(versions[s.id], overrides[s.id], s.time_zone, since, until, False)
            for s in rows
        } if included else {}
        ids = {u for vs in versions.values() for v in vs for u in v.users}
        ids |= {o.user_id for os_ in overrides.values() for o in os_}
        users = await logic.users_by_id(session, ids)
        teams = await logic.team_references(session, [s.id for s in rows])
        feed_of = await feeds.schedule_feeds(session, [s.id for s in rows], rt.clock.now())
    items = [
        _with_feed(_only_included(schedule_json(rt.base_url, s, versions[s.id], users, tz, renderings.get(s.id),
                                                teams[s.id]), included), rt.base_url, feed_of.get(s.id))
        for s in rows
    ]
    return p.body("schedules", items, total, p.offset + len(items) < total)


@router.post("/schedules", status_code=201)
async def create_schedule(
    body: ScheduleCreateBody, request: Request, rt: Runtime = Depends(runtime), principal: Principal = WRITE
) -> dict[str, Any]:
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        schedule = await logic.create_schedule(session, body.schedule, now)
        after = await _snapshot(session, schedule)
        record(session, audit_actor(principal, request), action="create", resource_type="schedule",
               resource_id=schedule.id, summary=schedule.name, after=after, at=now)
        versions = (await logic.layer_versions(session, [schedule.id]))[schedule.id]
        return {"schedule": await _rendered(session, rt, request, schedule, versions, [], after_write=True)}


@router.post("/schedules/preview", dependencies=[WRITE])
async def preview_schedule(body: SchedulePreviewBody, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
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
        rendering = logic.render(versions, overrides, schedule.time_zone, now, now + NEXT_ONCALL_HORIZON, True)
    except logic.TooManyTurns:
        return None
    entry = next((e for e in rendering.result.final if e.user == user_id and e.end > now), None)
    if entry is None:
        return None
    zone = tz or zone_info(schedule.time_zone)
    users = await logic.users_by_id(session, [user_id])
    return {"start": iso(entry.start, zone), "end": iso(entry.end, zone), "user": user_ref(rt.base_url, user_id, users)}


@router.get("/schedules/{schedule_id}", dependencies=[READ])
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
        before = await _snapshot(session, await logic.get_schedule(session, schedule_id))
        schedule = await logic.update_schedule(session, schedule_id, body.schedule, now)
        record(session, audit_actor(principal, request), action="update", resource_type="schedule",
               resource_id=schedule.id, summary=schedule.name, before=before,
               after=await _snapshot(session, schedule), at=now)
        versions = (await logic.layer_versions(session, [schedule_id]))[schedule_id]
        return {"schedule": await _rendered(session, rt, request, schedule, versions, after_write=True)}


@router.delete("/schedules/{schedule_id}", status_code=204)
async def delete_schedule(
    schedule_id: str, request: Request, rt: Runtime = Depends(runtime), principal: Principal = WRITE
) -> Response:
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        # Escalation sits above schedules in the layers; the composition root injects its query.
        policies_using = rt.hooks.get("policies_using_schedule")
        if policies_using is not None and (used_by := await policies_using(session, schedule_id)):
            names = ", ".join(f"{name} ({pid})" for pid, name in used_by)
            raise Conflict(errors=[f"This schedule is used by escalation policies and cannot be deleted: {names}"])
        before = await _snapshot(session, schedule)
        await logic.delete_schedule(session, schedule_id, now)
        record(session, audit_actor(principal, request), action="delete", resource_type="schedule",
               resource_id=schedule_id, summary=schedule.name, before=before, at=now)
    return Response(status_code=204)


@router.get("/schedules/{schedule_id}/users", dependencies=[READ])
async def schedule_users(schedule_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """The users on call in the final schedule between ``since`` and ``until``."""
    since, until = _window(request, rt.clock.now())
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        versions = (await logic.layer_versions(session, [schedule_id]))[schedule_id]
        overrides = await logic.overrides_in(session, schedule_id)
        rendering = logic.render(versions, overrides, schedule.time_zone, since, until, False)
        order = list(dict.fromkeys(e.user for e in rendering.result.final))
        users = await logic.users_by_id(session, order)
    return {"users": [user_json(rt.base_url, users[u]) for u in order if u in users]}


@router.get("/schedules/{schedule_id}/overrides", dependencies=[READ])
async def list_overrides(schedule_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Overrides overlapping ``since``..``until``; ``editable=true`` keeps those not yet over
    (the ones that can still be deleted or cut short)."""
    now = rt.clock.now()
    since, until = _window(request, now)
    tz = time_zone(request)
    editable = boolean(request, "editable")
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        rows = sorted(await logic.overrides_in(session, schedule_id, since, until), key=lambda o: (o.start, o.created_at))
        if editable:
            rows = [o for o in rows if o.end > now]
        users = await logic.users_by_id(session, {o.user_id for o in rows})
    zone = tz or zone_info(schedule.time_zone)
    return {"overrides": [override_json(rt.base_url, o, users, zone) for o in rows]}


def _validation_errors(prefix: str, error: ValidationError) -> list[str]:
    return [
        f"{'.'.join([prefix, *(str(p) for p in e['loc'])])}: {e['msg']}" for e in error.errors()
    ]


def _record_override(session: AsyncSession, actor: Actor, action: str, schedule: Schedule,
                     row: ScheduleOverride, before: dict[str, Any] | None, now: datetime) -> None:
    record(session, actor, action=action, resource_type="override", resource_id=row.id,
           summary=f"Override on {schedule.name}", before=before,
           after=None if action == "delete" else override_snapshot(row), at=now)


@router.post("/schedules/{schedule_id}/overrides", status_code=201)
async def create_overrides(
    schedule_id: str, body: OverridesBody, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = WRITE,
) -> Any:
    """One ``override`` -> ``{"override"}``; a list of ``overrides`` -> one result per item."""
    now = rt.clock.now()
    actor = audit_actor(principal, request)
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        zone = zone_info(schedule.time_zone)
        if body.override is not None:
            row = await logic.create_override(session, schedule, body.override, now)
            _record_override(session, actor, "create", schedule, row, None, now)
            users = await logic.users_by_id(session, [row.user_id])
            return {"override": override_json(rt.base_url, row, users, zone)}
        results: list[dict[str, Any]] = []
        for index, raw in enumerate(body.overrides or []):
            field = f"overrides[{index}]"
            try:
                item = OverrideIn.model_validate(raw)
                # Creation order decides overlaps, so items of one batch get distinct instants.
                row = await logic.create_override(session, schedule, item, now + timedelta(microseconds=index), field)
            except ValidationError as error:
                results.append({"status": 400, "errors": _validation_errors(field, error)})
                continue
            except InvalidInput as error:
                results.append({"status": 400, "errors": error.errors or [error.message]})
                continue
            _record_override(session, actor, "create", schedule, row, None, now)
            users = await logic.users_by_id(session, [row.user_id])
            results.append({"status": 201, "override": override_json(rt.base_url, row, users, zone)})
    return JSONResponse(results, status_code=201)


@router.delete("/schedules/{schedule_id}/overrides/{override_id}", status_code=204)
async def delete_override(
    schedule_id: str, override_id: str, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = WRITE,
) -> Response:
    """204 when the override is gone; an override already under way is cut short at now instead."""
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        existing = await session.get(ScheduleOverride, override_id)
        before = override_snapshot(existing) if existing is not None else None
        row, removed = await logic.delete_override(session, schedule_id, override_id, now)
        _record_override(session, audit_actor(principal, request), "delete" if removed else "update",
                         schedule, row, before, now)
    return Response(status_code=204)


# --- iCal feeds ----------------------------------------------------------------------------

CALENDAR = "text/calendar; charset=utf-8"


def _domain(base: str) -> str:
    """The host part of the base URL: the UIDs' right-hand side (RFC 5545 3.8.4.7)."""
    return base.partition("://")[2].split("/")[0].split(":")[0] or "tocsin"


@router.get("/private/{token}/feed/{schedule_id}", include_in_schema=False)
async def schedule_feed(token: str, schedule_id: str, rt: Runtime = Depends(runtime)) -> Response:
    """Public on purpose (calendar apps send no credentials): the secret token is the access."""
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        schedule = await feeds.schedule_by_token(session, schedule_id, token)
        shifts = await feeds.schedule_shifts(session, schedule, now, rt.base_url)
    text = ical.calendar(schedule.name, shifts, domain=_domain(rt.base_url), now=now)
    return Response(text, media_type=CALENDAR, headers={"Cache-Control": "private, max-age=300"})


@router.get("/private/{token}/feed/users/{user_id}", include_in_schema=False)
async def user_feed(token: str, user_id: str, rt: Runtime = Depends(runtime)) -> Response:
    """Public on purpose, like ``schedule_feed``: every schedule the user is on."""
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        user = await feeds.user_by_token(session, user_id, token)
        shifts = await feeds.user_shifts(session, user, now, rt.base_url)
    text = ical.calendar(f"On call: {user.name}", shifts, domain=_domain(rt.base_url), now=now)
    return Response(text, media_type=CALENDAR, headers={"Cache-Control": "private, max-age=300"})


def _may_manage_feed_of(principal: Principal, user_id: str) -> None:
    """A user key sees only its own feed unless its role manages others; account keys see all."""
    if principal.user_id is not None and principal.user_id != user_id and principal.role not in FEED_MANAGERS:
        raise AccessDenied(errors=["Only the user or an admin may see or rotate this user's calendar feed"])


async def _user_feed_json(session: AsyncSession, rt: Runtime, user_id: str) -> dict[str, Any]:
    await feeds.live_user(session, user_id)
    users = await logic.users_by_id(session, [user_id])
    feed = await feeds.user_feed(session, user_id, rt.clock.now())
    return {"calendar_feed": {"user": user_ref(rt.base_url, user_id, users), **feeds.feed_urls(rt.base_url, feed)}}


@router.get("/schedules/feeds/users/{user_id}")
async def get_user_feed(user_id: str, rt: Runtime = Depends(runtime), principal: Principal = READ) -> dict[str, Any]:
    """Tocsin extension: the user's secret feed URLs, covering every schedule they are on."""
    _may_manage_feed_of(principal, user_id)
    async with rt.db.transaction() as session:
        return await _user_feed_json(session, rt, user_id)


@router.post("/schedules/feeds/users/{user_id}/rotate")
async def rotate_user_feed(
    user_id: str, request: Request, rt: Runtime = Depends(runtime), principal: Principal = WRITE
) -> dict[str, Any]:
    """Tocsin extension: a new secret for the user's feed; the old URL stops working."""
    _may_manage_feed_of(principal, user_id)
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        user = await feeds.live_user(session, user_id)
        feed = await feeds.user_feed(session, user_id, now)
        feeds.rotate(feed, now)
        record(session, audit_actor(principal, request), action="update", resource_type="calendar_feed",
               resource_id=feed.id, summary=f"Calendar feed of {user.name}",
               before={"token": "previous"}, after={"token": "rotated"}, at=now)
        await session.flush()
        return await _user_feed_json(session, rt, user_id)


@router.post("/schedules/{schedule_id}/feed/rotate")
async def rotate_schedule_feed(
    schedule_id: str, request: Request, rt: Runtime = Depends(runtime), principal: Principal = WRITE
) -> dict[str, Any]:
    """Tocsin extension: a new secret for the schedule's feed; the answer is the schedule with
    its new ``http_cal_url``/``web_cal_url``."""
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        feed = (await feeds.schedule_feeds(session, [schedule_id], now))[schedule_id]
        feeds.rotate(feed, now)
        record(session, audit_actor(principal, request), action="update", resource_type="calendar_feed",
               resource_id=feed.id, summary=f"Calendar feed of {schedule.name}",
               before={"token": "previous"}, after={"token": "rotated"}, at=now)
        await session.flush()
        versions = (await logic.layer_versions(session, [schedule_id]))[schedule_id]
        users = await logic.users_by_id(session, {u for v in versions for u in v.users})
        teams = (await logic.team_references(session, [schedule_id]))[schedule_id]
        return {"schedule": _with_feed(schedule_json(rt.base_url, schedule, versions, users, teams=teams),
                                       rt.base_url, feed)}
