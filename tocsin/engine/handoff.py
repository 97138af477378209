"""The ``handoff`` step: tell people when their on-call shift starts and ends.

Per escalation policy, as its ``on_call_handoff_notifications`` says: ``always``, or
``if_has_services`` (only a policy some live service uses). The people are those its schedules
put on call; a user a policy targets directly is always on call there, so has no handoffs.

Each run looks at the shift edges between the cursor (``engine_cursors`` row "handoff", made at
the first run's ``now``) and ``now``, inserts one PENDING ``Notification`` (kind HANDOFF, due at
the edge) per user, schedule and edge, and moves the cursor to ``now`` in the same transaction.
The row's unique key names the edge, so an edge is notified exactly once whatever runs it twice.
On PostgreSQL a transaction advisory lock lets one engine run the step at a time (it is cheap and
global; the others skip and look again soon). The notify step sends the rows.

Every schedule is loaded and rendered once per run, over the window and the next 24 hours (the
latter tells the loop when the next edge is due).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db.session import Database
from tocsin.engine.models import EngineCursor
from tocsin.engine.shift_edges import Edge, edges
from tocsin.engine.step import NOTIFY_STEP, StepResult
from tocsin.errors import InvalidInput
from tocsin.escalation.models import EscalationPolicy, EscalationRule, EscalationTarget
from tocsin.ids import new_id
from tocsin.notifications.addresses import channel_of, send_address
from tocsin.notifications.models import HANDOFF, PENDING, Notification
from tocsin.schedules.queries import on_call_sources, shifts_between
from tocsin.services.queries import services_using_policies
from tocsin.users.queries import contact_methods_of, notification_rules_of

log = logging.getLogger(__name__)

CURSOR = "handoff"
LOOKAHEAD = timedelta(hours=24)
# Edges older than this when the engine comes back (it was stopped) are not announced late: a
# "your shift started" hours after the fact only confuses. Skipping them is logged.
MAX_CATCH_UP = timedelta(hours=1)
HANDOFF_CHANNELS = ("email", "sms")
ALWAYS, IF_HAS_SERVICES = "always", "if_has_services"


@dataclass(frozen=True, slots=True)
class Watched:
    """A schedule whose shifts are announced, and the policy (first by name) that asks for it."""

    schedule_id: str
    policy_id: str
    policy_name: str


async def watched_schedules(session: AsyncSession) -> dict[str, Watched]:
    """Schedules targeted by a live policy that wants handoff notices, by id. Two statements."""
    rows = (await session.execute(
        select(EscalationPolicy.id, EscalationPolicy.name, EscalationPolicy.on_call_handoff_notifications,
               EscalationTarget.schedule_id)
        .join(EscalationRule, EscalationRule.policy_id == EscalationPolicy.id)
        .join(EscalationTarget, EscalationTarget.rule_id == EscalationRule.id)
        .where(EscalationPolicy.deleted_at.is_(None), EscalationTarget.schedule_id.is_not(None),
               EscalationPolicy.on_call_handoff_notifications.in_((ALWAYS, IF_HAS_SERVICES)))
        .order_by(EscalationPolicy.name, EscalationPolicy.id)
    )).all()
    needs_service = sorted({pid for pid, _, mode, _ in rows if mode == IF_HAS_SERVICES})
    served = await services_using_policies(session, needs_service) if needs_service else {}
    found: dict[str, Watched] = {}
    for policy_id, name, mode, schedule_id in rows:
        if schedule_id is None or (mode == IF_HAS_SERVICES and not served.get(policy_id)):
            continue  # (never None: selected by schedule_id IS NOT NULL)
        found.setdefault(schedule_id, Watched(schedule_id, policy_id, name))
    return found


async def _edges_by_schedule(
    session: AsyncSession, watched: Iterable[str], since: datetime, until: datetime,
) -> dict[str, tuple[str, list[Edge]]]:
    """(name, every shift edge in (since, until]) of each live schedule, each rendered once."""
    sources = await on_call_sources(session, watched, since, until)
    found: dict[str, tuple[str, list[Edge]]] = {}
    for schedule_id, source in sources.items():
        try:
            shifts = shifts_between(source, since, until)
        except InvalidInput:  # a pathological rotation: the rest still get their notices
            log.error("handoff notices skipped for schedule %s: too many rotation turns to render", schedule_id)
            continue
        found[schedule_id] = (source.name, edges(((s.user, s.start, s.end) for s in shifts), since, until))
    return found


@dataclass(frozen=True, slots=True)
class Route:
    """Where a user's handoff notices go."""

    contact_method_id: str
    rule_id: str
    channel: str
    address: str


async def handoff_routes(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, Route]:
    """Each (live) user's route: the oldest email or SMS contact method that one of their
    high-urgency notification rules with no delay uses (users without one get no notices)."""
    users = sorted(set(user_ids))
    rules = await notification_rules_of(session, users)
    methods = await contact_methods_of(session, users)
    found: dict[str, Route] = {}
    for user_id, user_rules in rules.items():
        immediate = {r.contact_method_id: r.id for r in user_rules
                     if r.urgency == "high" and r.start_delay_in_minutes == 0}
        for method in methods.get(user_id, []):
            channel = channel_of(method.type)
            if method.id in immediate and channel in HANDOFF_CHANNELS:
                found[user_id] = Route(method.id, immediate[method.id], channel,
                                       send_address(method.type, method.address, method.country_code))
                break
    return found


def notice_key(edge: Edge, schedule_id: str) -> str:
    return f"handoff:{edge.user}:{schedule_id}:{edge.event}:{edge.at.isoformat()}"


def _row(edge: Edge, watched: Watched, schedule_name: str, route: Route, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id(), "key": notice_key(edge, watched.schedule_id), "kind": HANDOFF, "incident_id": None,
        "user_id": edge.user, "contact_method_id": route.contact_method_id, "rule_id": route.rule_id,
        "channel": route.channel, "address": route.address, "urgency": None,
        "detail": {
            "event": edge.event, "at": edge.at.isoformat(),
            "schedule": {"id": watched.schedule_id, "name": schedule_name},
            "policy": {"id": watched.policy_id, "name": watched.policy_name},
            "shift": {"start": edge.shift_start.isoformat(), "end": edge.shift_end.isoformat()},
        },
        "status": PENDING, "due_at": edge.at, "attempts": 0, "last_error": None, "provider_response": None,
        "sent_at": None, "created_at": now, "updated_at": now,
    }


async def _insert_new(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose key is not taken yet; how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    statement: Any
    if dialect == "postgresql":
        statement = pg_insert(Notification).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "sqlite":
        statement = sqlite_insert(Notification).on_conflict_do_nothing(index_elements=["key"])
    else:  # pragma: no cover - Tocsin runs on the two databases above
        statement = insert(Notification)
    result = await session.execute(statement.values(rows).returning(Notification.id))
    return len(result.all())


async def _take_turn(session: AsyncSession) -> bool:
    """PostgreSQL: may this engine run the step now (no other engine is running it)?"""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: one engine per database
    taken = await session.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('tocsin.engine.handoff'))"))
    return bool(taken.scalar_one())


class HandoffStep:
    name = "handoff"
    budget_seconds = 10.0
    background = False
    runs_apart = False
    gather_seconds = 0.0

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self._db = db
        # The engine's clock; a run uses the instant the loop hands it (``run(now)``).
        self._now = now

    async def run(self, now: datetime) -> StepResult:
        async with self._db.transaction() as session:
            if not await _take_turn(session):
                return StepResult(skipped_locked=True)
            cursor = await session.get(EngineCursor, CURSOR)
            if cursor is None:
                cursor = EngineCursor(name=CURSOR, at=now)
                session.add(cursor)
            since = cursor.at
            if since < now - MAX_CATCH_UP:
                log.warning("handoff notices between %s and %s are not sent: the engine was not running then",
                            since.isoformat(), (now - MAX_CATCH_UP).isoformat())
                since = now - MAX_CATCH_UP
            inserted, next_due = await self._announce(session, since, now)
            cursor.at = max(cursor.at, now)
        return StepResult(done=inserted, next_due=next_due, woke=(NOTIFY_STEP,) if inserted else ())

    async def _announce(self, session: AsyncSession, since: datetime, now: datetime) -> tuple[int, datetime | None]:
        watched = await watched_schedules(session)
        found = await _edges_by_schedule(session, watched, since, now + LOOKAHEAD)
        due = [(sid, name, e) for sid, (name, found_edges) in found.items() for e in found_edges if e.at <= now]
        next_due = min((e.at for _, found_edges in found.values() for e in found_edges if e.at > now), default=None)
        if not due:
            return 0, next_due
        routes = await handoff_routes(session, {e.user for _, _, e in due})
        rows = [_row(e, watched[sid], name, routes[e.user], now) for sid, name, e in due if e.user in routes]
        return await _insert_new(session, rows), next_due
