"""Read helpers other domains may use (the escalation domain's public surface).

All take the caller's ``AsyncSession``; levels are 1-based as PagerDuty numbers them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tocsin.db.bridge import SyncAsAsync, run_now
from tocsin.db.links import linked
from tocsin.escalation.models import (
    EscalationPolicy,
    EscalationPolicyTeam,
    EscalationRule,
    EscalationTarget,
)
from tocsin.schedules.queries import on_call_sources, shift_at
from tocsin.teams.models import Team
from tocsin.users.queries import existing_user_ids


def _unique(ids: Iterable[str]) -> list[str]:
    return sorted({i for i in ids if i})


async def policy_refs(session: AsyncSession, ids: Iterable[str]) -> dict[str, str]:
    """Names by id, deleted policies included (old incidents still point at them)."""
    wanted = _unique(ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(EscalationPolicy.id, EscalationPolicy.name).where(EscalationPolicy.id.in_(wanted))
    )
    return dict(rows.all())


@dataclass(frozen=True)
class PolicyLabels:
    """What a reference to a policy shows: its name and its teams (every linked team's id; names
    of the live ones). Every asked id is a key of ``team_ids``."""

    names: dict[str, str] = field(default_factory=dict)
    team_ids: dict[str, list[str]] = field(default_factory=dict)
    team_names: dict[str, str] = field(default_factory=dict)


async def policy_labels(session: AsyncSession, ids: Iterable[str]) -> PolicyLabels:
    """Names, team ids and team names of policies (deleted ones included) in one statement:
    pages of incidents and services show them for every row."""
    wanted = _unique(ids)
    labels = PolicyLabels(team_ids={pid: [] for pid in wanted})
    if not wanted:
        return labels
    rows = await session.execute(
        select(EscalationPolicy.id, EscalationPolicy.name, EscalationPolicyTeam.team_id, Team.name)
        .outerjoin(EscalationPolicyTeam, EscalationPolicyTeam.policy_id == EscalationPolicy.id)
        .outerjoin(Team, and_(Team.id == EscalationPolicyTeam.team_id, Team.deleted_at.is_(None)))
        .where(EscalationPolicy.id.in_(wanted))
        .order_by(EscalationPolicy.id, EscalationPolicyTeam.team_id)
    )
    for policy_id, name, team_id, team_name in rows:
        labels.names[policy_id] = name
        if team_id is not None:
            labels.team_ids[policy_id].append(team_id)
            if team_name is not None:
                labels.team_names[team_id] = team_name
    return labels


async def existing_policy_ids(session: AsyncSession, ids: Iterable[str]) -> set[str]:
    """The ids among ``ids`` naming live (not deleted) policies."""
    wanted = _unique(ids)
    if not wanted:
        return set()
    rows = await session.execute(
        select(EscalationPolicy.id).where(EscalationPolicy.id.in_(wanted), EscalationPolicy.deleted_at.is_(None))
    )
    return set(rows.scalars())


async def policy_team_ids(session: AsyncSession, policy_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each policy's team ids (every asked id is a key)."""
    return await linked(session, EscalationPolicyTeam.policy_id, EscalationPolicyTeam.team_id, _unique(policy_ids))


async def policy_ids_for_teams(session: AsyncSession, team_ids: Iterable[str]) -> set[str]:
    """Live policies belonging to any of ``team_ids``."""
    wanted = _unique(team_ids)
    if not wanted:
        return set()
    rows = await session.execute(
        select(EscalationPolicyTeam.policy_id)
        .join(EscalationPolicy, EscalationPolicy.id == EscalationPolicyTeam.policy_id)
        .where(EscalationPolicyTeam.team_id.in_(wanted), EscalationPolicy.deleted_at.is_(None))
    )
    return set(rows.scalars())


async def level_count(session: AsyncSession, policy_id: str) -> int:
    """How many levels (escalation rules) the policy has; 0 for an unknown policy."""
    count = await session.execute(select(func.count()).where(EscalationRule.policy_id == policy_id))
    return int(count.scalar_one())


async def on_call_at_level(
    session: AsyncSession, policy_ids: Iterable[str], level: int, at: datetime
) -> dict[str, list[str]]:
    """Who level ``level`` of each policy pages at instant ``at`` (every asked id is a key): user
    targets themselves, schedule targets whoever is on call in the schedule then (nobody during a
    gap). In target order, each user once; deleted users and schedules are skipped.

    A fixed number of statements whatever the number of policies: one for every policy's targets,
    three for every schedule they name (each rendered once), one for which users still exist."""
    wanted = _unique(policy_ids)
    targets: dict[str, list[tuple[str | None, str | None]]] = {pid: [] for pid in wanted}
    if not wanted or level < 1:
        return {pid: [] for pid in wanted}
    rows = await session.execute(
        select(EscalationRule.policy_id, EscalationTarget.user_id, EscalationTarget.schedule_id)
        .join(EscalationRule, EscalationRule.id == EscalationTarget.rule_id)
        .where(EscalationRule.policy_id.in_(wanted), EscalationRule.position == level - 1)
        .order_by(EscalationRule.policy_id, EscalationTarget.position)
    )
    for policy_id, user_id, schedule_id in rows:
        targets[policy_id].append((user_id, schedule_id))
    schedule_ids = {sid for found in targets.values() for _, sid in found if sid}
    sources = await on_call_sources(session, schedule_ids, at, at)
    shifts = {sid: shift_at(source, at) for sid, source in sources.items()}
    candidates: dict[str, list[str]] = {}
    for policy_id, found in targets.items():
        users: list[str] = []
        for user_id, schedule_id in found:
            shift = shifts.get(schedule_id) if schedule_id else None
            if user_id:
                users.append(user_id)
            elif shift is not None:
                users.append(shift.user)
        candidates[policy_id] = users
    live = await existing_user_ids(session, [u for users in candidates.values() for u in users])
    return {pid: [u for u in dict.fromkeys(users) if u in live] for pid, users in candidates.items()}


async def on_call_user_ids(session: AsyncSession, policy_id: str, level: int, at: datetime) -> list[str]:
    """Who level ``level`` of one policy pages at instant ``at`` (see ``on_call_at_level``)."""
    return (await on_call_at_level(session, [policy_id], level, at)).get(policy_id, [])


async def policies_targeting_schedule(session: AsyncSession, schedule_id: str) -> list[tuple[str, str]]:
    """(id, name) of the live policies with a level targeting the schedule, by name.

    Injected into the schedules domain (which sits below this one) as
    ``Runtime.wiring.policies_using_schedule``: a schedule in use cannot be deleted."""
    rows = await session.execute(
        select(EscalationPolicy.id, EscalationPolicy.name).distinct()
        .join(EscalationRule, EscalationRule.policy_id == EscalationPolicy.id)
        .join(EscalationTarget, EscalationTarget.rule_id == EscalationRule.id)
        .where(EscalationTarget.schedule_id == schedule_id, EscalationPolicy.deleted_at.is_(None))
        .order_by(EscalationPolicy.name, EscalationPolicy.id)
    )
    return [(pid, name) for pid, name in rows]


async def policies_targeting_user(session: AsyncSession, user_id: str) -> list[tuple[str, str]]:
    """(id, name) of the live policies with a level targeting the user directly, by name.

    Injected into the users domain as ``Runtime.wiring.policies_using_user``: a user a policy pages
    directly cannot be deleted until the policy stops naming them (a level would page nobody)."""
    rows = await session.execute(
        select(EscalationPolicy.id, EscalationPolicy.name).distinct()
        .join(EscalationRule, EscalationRule.policy_id == EscalationPolicy.id)
        .join(EscalationTarget, EscalationTarget.rule_id == EscalationRule.id)
        .where(EscalationTarget.user_id == user_id, EscalationPolicy.deleted_at.is_(None))
        .order_by(EscalationPolicy.name, EscalationPolicy.id)
    )
    return [(pid, name) for pid, name in rows]


def first_level_on_call_sync(session: Session, policy_ids: Iterable[str], at: datetime) -> dict[str, list[str]]:
    """Who level 1 of each policy assigns at ``at``, for the synchronous event processor: a fixed
    number of statements for the whole batch, each schedule rendered once. Runs
    ``on_call_at_level`` itself over the sync session (``tocsin.db.bridge``)."""
    adapter: Any = SyncAsAsync(session)
    return run_now(on_call_at_level(adapter, policy_ids, 1, at))
