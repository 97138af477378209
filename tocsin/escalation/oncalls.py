"""Who is on call, per escalation policy and level (``GET /oncalls``).

A thin database shell around the pure on-call engine: the policies, their rules and every
schedule they target are loaded in a fixed number of queries, each schedule is rendered once
however many policies use it, and the rest is plain Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.errors import InvalidInput
from tocsin.escalation.logic import rules_of
from tocsin.escalation.models import EscalationPolicy
from tocsin.schedules.queries import Entry, on_call_sources, shifts_between, turns_between

# Rotation turns one request may render across every schedule (each schedule alone is held to
# the schedules domain's own limit): about five seconds of rendering.
MAX_TOTAL_TURNS = 1_000_000


@dataclass(frozen=True)
class OnCall:
    policy_id: str
    level: int  # 1-based
    user_id: str
    schedule_id: str | None  # None: a user target, on call for as long as the policy says so
    start: datetime | None
    end: datetime | None


async def on_calls(
    session: AsyncSession, since: datetime, until: datetime, *,
    policy_ids: Sequence[str] = (), user_ids: Sequence[str] = (), schedule_ids: Sequence[str] = (),
    earliest: bool = False,
) -> tuple[list[OnCall], dict[str, str]]:
    """Every on-call in [since, until] (an instant when equal) and the policies' names by id.

    ``schedule_ids`` keeps only on-calls coming from those schedules (so no user targets);
    ``earliest`` keeps the first on-call of each (policy, level, user).
    """
    query = select(EscalationPolicy.id, EscalationPolicy.name).where(EscalationPolicy.deleted_at.is_(None))
    if policy_ids:
        query = query.where(EscalationPolicy.id.in_(list(policy_ids)))
    policies = dict((await session.execute(query)).all())
    rules = await rules_of(session, list(policies))
    wanted_schedules = set(schedule_ids)
    targeted = {
        t.id for rs in rules.values() for r in rs for t in r.targets
        if t.kind == "schedule" and (not wanted_schedules or t.id in wanted_schedules)
    }
    sources = await on_call_sources(session, targeted, since, until)
    if until > since and sum(turns_between(src, since, until) for src in sources.values()) > MAX_TOTAL_TURNS:
        raise InvalidInput(errors=[("until: the schedules asked about hold too many rotation turns in this "
                                    "window; ask for a shorter one or filter by escalation_policy_ids[] "
                                    "or schedule_ids[]")])
    shifts: dict[str, list[Entry]] = {sid: shifts_between(src, since, until) for sid, src in sources.items()}

    wanted_users = set(user_ids)
    found: list[OnCall] = []
    for policy_id, policy_rules in rules.items():
        for level, rule in enumerate(policy_rules, start=1):
            for target in rule.targets:
                if target.kind == "user":
                    if not wanted_schedules:
                        found.append(OnCall(policy_id, level, target.id, None, None, None))
                    continue
                for shift in shifts.get(target.id, ()):
                    found.append(OnCall(policy_id, level, shift.user, target.id, shift.start, shift.end))
    if wanted_users:
        found = [o for o in found if o.user_id in wanted_users]
    found = list(dict.fromkeys(found))  # one schedule twice on a level is one on-call
    found.sort(key=lambda o: (policies[o.policy_id], o.policy_id, o.level,
                              o.start or datetime.min.replace(tzinfo=since.tzinfo), o.user_id))
    if earliest:
        first: dict[tuple[str, int, str], OnCall] = {}
        for o in found:
            first.setdefault((o.policy_id, o.level, o.user_id), o)
        found = [o for o in found if first[(o.policy_id, o.level, o.user_id)] is o]
    return found, policies
