"""REST routes: iCal feeds. The feeds themselves (``/private/{token}/feed/...``) are public, the
secret token being the access (see ``tocsin.schedules.feeds``); showing and rotating a feed's URL
are Tocsin extensions: ``GET /schedules/feeds/users/{user_id}``,
``POST /schedules/feeds/users/{user_id}/rotate`` and ``POST /schedules/{id}/feed/rotate``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.access import Principal, audit_actor, require
from tocsin.errors import AccessDenied
from tocsin.http.runtime import Runtime, runtime
from tocsin.schedules import feeds, ical, logic
from tocsin.schedules.wire import schedule_json, user_ref

router = APIRouter(tags=["Schedules"])
READ = Depends(require("schedules.read"))
WRITE = Depends(require("schedules.write"))
# Roles that may see and rotate another user's feed (a user's own key always may).
FEED_MANAGERS = {"owner", "admin", "manager", "global_admin"}


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
        feeds.rotate(session, feed, user.name, audit_actor(principal, request), now)
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
        feeds.rotate(session, feed, schedule.name, audit_actor(principal, request), now)
        await session.flush()
        versions = (await logic.layer_versions(session, [schedule_id]))[schedule_id]
        users = await logic.users_by_id(session, {u for v in versions for u in v.users})
        teams = (await logic.team_references(session, [schedule_id]))[schedule_id]
        return {"schedule": feeds.with_feed_urls(schedule_json(rt.base_url, schedule, versions, users, teams=teams),
                                       rt.base_url, feed)}
