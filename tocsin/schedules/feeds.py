"""Secret iCal feed URLs of schedules and users, and the shifts they show (caller's transaction).

A feed URL is ``{base}/private/{token}/feed/{schedule_id}`` (PagerDuty's shape) or
``{base}/private/{token}/feed/users/{user_id}``. The route is public (calendar apps send no
credentials); the 256-bit token is what protects it, compared in constant time. Feeds are made
on first need (a schedule's when it is created or first shown, a user's when first asked for),
so schedules and users that predate this module get one too.

Window: from ``FEED_PAST`` (30 days) before now to ``FEED_FUTURE`` (180 days) after it, with
shifts crossing either edge shown whole so their UIDs stay stable from one fetch to the next.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.auth.models import User
from tocsin.errors import NotFound
from tocsin.ids import new_id
from tocsin.schedules import logic
from tocsin.schedules.ical import Shift
from tocsin.schedules.model import Entry
from tocsin.schedules.models import CalendarFeed, Schedule, ScheduleLayer, ScheduleLayerUser, ScheduleOverride
from tocsin.schedules.rendering import TooManyTurns, render

FEED_PAST = timedelta(days=30)
FEED_FUTURE = timedelta(days=180)
FALLBACK_FUTURE = timedelta(days=14)  # for rotations too dense to render half a year of


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 43 characters, 256 bits


def schedule_feed_path(token: str, schedule_id: str) -> str:
    return f"/private/{token}/feed/{schedule_id}"


def user_feed_path(token: str, user_id: str) -> str:
    return f"/private/{token}/feed/users/{user_id}"


def feed_urls(base: str, feed: CalendarFeed) -> dict[str, str]:
    """``http_cal_url`` and ``web_cal_url`` (the ``webcal://`` form calendar apps subscribe to)."""
    path = (schedule_feed_path(feed.token, feed.schedule_id) if feed.schedule_id is not None
            else user_feed_path(feed.token, feed.user_id or ""))
    http = base + path
    _, sep, rest = http.partition("://")
    return {"http_cal_url": http, "web_cal_url": f"webcal://{rest}" if sep else http}


# --- tokens ------------------------------------------------------------------------------------

async def _insert_missing(session: AsyncSession, column: str, ids: list[str], now: datetime) -> None:
    """One feed per subject; a concurrent creator's row wins (ON CONFLICT DO NOTHING)."""
    rows = [{"id": new_id(), column: subject, "token": new_token(), "created_at": now} for subject in ids]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(CalendarFeed).values(rows).on_conflict_do_nothing(index_elements=[column]))


async def schedule_feeds(session: AsyncSession, schedule_ids: Iterable[str], now: datetime) -> dict[str, CalendarFeed]:
    """The feed of each schedule, made now for those without one."""
    wanted = sorted(set(schedule_ids))
    if not wanted:
        return {}
    query = select(CalendarFeed).where(CalendarFeed.schedule_id.in_(wanted))
    found = {f.schedule_id: f for f in (await session.execute(query)).scalars()}
    missing = [sid for sid in wanted if sid not in found]
    if missing:
        await _insert_missing(session, "schedule_id", missing, now)
        found = {f.schedule_id: f for f in (await session.execute(query)).scalars()}
    return {sid: feed for sid, feed in found.items() if sid is not None}


async def user_feed(session: AsyncSession, user_id: str, now: datetime) -> CalendarFeed:
    query = select(CalendarFeed).where(CalendarFeed.user_id == user_id)
    feed = (await session.execute(query)).scalar_one_or_none()
    if feed is None:
        await _insert_missing(session, "user_id", [user_id], now)
        feed = (await session.execute(query)).scalar_one()
    return feed


def rotate(session: AsyncSession, feed: CalendarFeed, of: str, actor: Actor, now: datetime) -> None:
    """A new token: every copy of the old URL stops working. ``of`` names the feed's schedule or
    user in the audit record (which never holds a token)."""
    feed.token = new_token()
    feed.rotated_at = now
    record(session, actor, action="update", resource_type="calendar_feed", resource_id=feed.id,
           summary=f"Calendar feed of {of}", before={"token": "previous"}, after={"token": "rotated"}, at=now)


def _matches(feed: CalendarFeed | None, token: str) -> bool:
    # Compare even when there is no feed, so a missing feed and a wrong token take the same time.
    expected = feed.token if feed is not None else new_token()
    return hmac.compare_digest(expected.encode(), token.encode()) and feed is not None


async def live_user(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound(f"User {user_id} not found", errors=["User not found"])
    return user


async def schedule_by_token(session: AsyncSession, schedule_id: str, token: str) -> Schedule:
    """The schedule the URL names, if the token is its feed's; otherwise one 404 for every case."""
    feed = (await session.execute(
        select(CalendarFeed).where(CalendarFeed.schedule_id == schedule_id)
    )).scalar_one_or_none()
    schedule = await session.get(Schedule, schedule_id) if feed is not None else None
    if not _matches(feed, token) or schedule is None or schedule.deleted_at is not None:
        raise NotFound("Calendar feed not found", errors=["Calendar feed not found"])
    return schedule


async def user_by_token(session: AsyncSession, user_id: str, token: str) -> User:
    feed = (await session.execute(select(CalendarFeed).where(CalendarFeed.user_id == user_id))).scalar_one_or_none()
    user = await session.get(User, user_id) if feed is not None else None
    if not _matches(feed, token) or user is None or user.deleted_at is not None:
        raise NotFound("Calendar feed not found", errors=["Calendar feed not found"])
    return user


# --- shifts ------------------------------------------------------------------------------------

def feed_window(now: datetime) -> tuple[datetime, datetime]:
    return now - FEED_PAST, now + FEED_FUTURE


async def _final_entries(session: AsyncSession, schedule: Schedule, now: datetime) -> list[Entry]:
    versions = (await logic.layer_versions(session, [schedule.id]))[schedule.id]
    overrides = await logic.overrides_in(session, schedule.id)
    since, until = feed_window(now)
    try:
        rendering = render(versions, overrides, schedule.time_zone, since, until, True)
    except TooManyTurns:
        rendering = render(versions, overrides, schedule.time_zone, now - timedelta(days=1),
                                 now + FALLBACK_FUTURE, True)
    return list(rendering.result.final)


async def schedule_shifts(session: AsyncSession, schedule: Schedule, now: datetime, base: str) -> list[Shift]:
    entries = await _final_entries(session, schedule, now)
    users = await logic.users_by_id(session, {e.user for e in entries})
    url = f"{base}/ui/schedules/{schedule.id}"
    return [
        Shift(schedule.id, schedule.name, e.user, users[e.user].name if e.user in users else e.user,
              e.start, e.end, url)
        for e in entries
    ]


async def schedules_of_user(session: AsyncSession, user_id: str) -> list[Schedule]:
    """Live schedules that name the user in any layer version or override."""
    ids = union(
        select(ScheduleLayer.schedule_id)
        .join(ScheduleLayerUser, ScheduleLayerUser.layer_version_id == ScheduleLayer.id)
        .where(ScheduleLayerUser.user_id == user_id),
        select(ScheduleOverride.schedule_id).where(ScheduleOverride.user_id == user_id),
    ).subquery()
    query = (select(Schedule).where(Schedule.id.in_(select(ids.c[0])), Schedule.deleted_at.is_(None))
             .order_by(Schedule.name, Schedule.id))
    return list((await session.execute(query)).scalars())


async def user_shifts(session: AsyncSession, user: User, now: datetime, base: str) -> list[Shift]:
    shifts: list[Shift] = []
    for schedule in await schedules_of_user(session, user.id):
        url = f"{base}/ui/schedules/{schedule.id}"
        shifts.extend(
            Shift(schedule.id, schedule.name, user.id, user.name, e.start, e.end, url)
            for e in await _final_entries(session, schedule, now) if e.user == user.id
        )
    return shifts


def with_feed_urls(body: dict[str, Any], base: str, feed: CalendarFeed | None) -> dict[str, Any]:
    if feed is not None:
        body.update(feed_urls(base, feed))
    return body
