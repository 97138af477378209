"""What the on-call page shows, read through the escalation domain's own on-call query (the one
``GET /oncalls`` uses) and the schedules domain's per-user calendar feed: who is on call now at
each level of each policy and until when, who comes next, and the viewer's own next shifts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.escalation.oncalls import OnCall, on_calls
from tocsin.schedules.feeds import feed_urls, user_feed
from tocsin.schedules.queries import schedule_refs
from tocsin.users.queries import user_refs

# How far ahead "who is next" and "when am I on call" look (GET /oncalls allows up to 90 days).
AHEAD = timedelta(days=30)
MY_SHIFTS = 20


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    schedule: str | None  # the schedule's name; None for a user the level names directly
    start: datetime | None
    end: datetime | None  # None: on call for as long as the policy names them


@dataclass
class Level:
    number: int
    now: list[Person] = field(default_factory=list)
    next: list[Person] = field(default_factory=list)


@dataclass
class Policy:
    id: str
    name: str
    levels: list[Level]


@dataclass
class OnCallView:
    policies: list[Policy]
    my_shifts: list[Person]
    my_policy_names: dict[str, str]
    http_cal_url: str
    web_cal_url: str
    mine: bool


def _person(o: OnCall, users: dict[str, str], schedules: dict[str, str]) -> Person:
    return Person(o.user_id, users.get(o.user_id, o.user_id),
                  schedules.get(o.schedule_id, o.schedule_id) if o.schedule_id else None, o.start, o.end)


async def on_call_view(session: AsyncSession, user_id: str, mine: bool, base: str, now: datetime) -> OnCallView:
    """Needs a writing transaction: the schedules domain's ``user_feed`` makes the viewer's
    calendar feed (its secret URL) on first sight."""
    current, names = await on_calls(session, now, now)
    ahead, _ = await on_calls(session, now, now + AHEAD)
    mine_ahead = [o for o in ahead if o.user_id == user_id]
    mine_ids = {o.policy_id for o in mine_ahead}
    user_names = {u: f.name for u, f in (await user_refs(session, {o.user_id for o in ahead + current})).items()}
    schedules = await schedule_refs(session, {o.schedule_id for o in ahead + current if o.schedule_id})
    by_policy: dict[str, dict[int, Level]] = {}
    for o in current:
        if o.user_id in user_names and (not mine or o.policy_id in mine_ids):
            level = by_policy.setdefault(o.policy_id, {}).setdefault(o.level, Level(o.level))
            level.now.append(_person(o, user_names, schedules))
    for o in ahead:  # the first shift of each level that starts later than now: who takes over
        if o.start is None or o.start <= now or o.user_id not in user_names or (mine and o.policy_id not in mine_ids):
            continue
        upcoming = by_policy.setdefault(o.policy_id, {}).setdefault(o.level, Level(o.level))  # a gap now
        if not upcoming.next or upcoming.next[0].start == o.start:
            upcoming.next.append(_person(o, user_names, schedules))
    policies = [Policy(pid, names[pid], [levels[n] for n in sorted(levels)])
                for pid, levels in by_policy.items()]
    policies.sort(key=lambda p: (p.name, p.id))
    urls = feed_urls(base, await user_feed(session, user_id, now))
    return OnCallView(policies, shifts_of(mine_ahead, user_names, schedules, now),
                      {pid: names[pid] for pid in sorted(mine_ids)}, urls["http_cal_url"], urls["web_cal_url"], mine)


def shifts_of(found: list[OnCall], users: dict[str, str], schedules: dict[str, str], now: datetime) -> list[Person]:
    """One person's schedule shifts, soonest first: one row per shift, however many policies or
    levels use the schedule (user targets are no shifts: the policy names them all the time)."""
    shifts: dict[tuple[str | None, datetime | None], Person] = {}
    for o in sorted(found, key=lambda o: (o.start or now, o.schedule_id or "")):
        if o.schedule_id is not None:
            shifts.setdefault((o.schedule_id, o.start), _person(o, users, schedules))
    return list(shifts.values())[:MY_SHIFTS]


async def user_on_call(session: AsyncSession, user_id: str, now: datetime) -> tuple[list[Person], dict[str, str]]:
    """A user's next schedule shifts and the policies they are on (by id, names) in ``AHEAD``."""
    found, names = await on_calls(session, now, now + AHEAD, user_ids=[user_id])
    users = {u: f.name for u, f in (await user_refs(session, {user_id})).items()}
    schedules = await schedule_refs(session, {o.schedule_id for o in found if o.schedule_id})
    return shifts_of(found, users, schedules, now), {o.policy_id: names[o.policy_id] for o in found}
