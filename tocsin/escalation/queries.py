"""Read helpers other domains may use (the escalation domain's public surface), and the one
write they need: taking a round-robin rule's turn (``assign_level``, ``take_round_robin_turn``,
``store_round_robin_positions_sync``).

All take the caller's session; levels are 1-based as PagerDuty numbers them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tocsin.db.base import table_of
from tocsin.db.bridge import SyncAsAsync, run_now
from tocsin.db.id_lists import one_of
from tocsin.db.links import linked
from tocsin.escalation.models import (
    EscalationPolicy,
    EscalationPolicyTeam,
    EscalationRule,
    EscalationTarget,
    RoundRobinPosition,
)
from tocsin.escalation.round_robin import ASSIGN_TO_EVERYONE, ROUND_ROBIN, assignees, round_robin_pick
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


async def live_policy_names(session: AsyncSession) -> list[tuple[str, str]]:
    """(id, name) of every policy not deleted, by name (who the web UI may hand an incident to)."""
    rows = await session.execute(select(EscalationPolicy.id, EscalationPolicy.name)
                                 .where(EscalationPolicy.deleted_at.is_(None))
                                 .order_by(EscalationPolicy.name, EscalationPolicy.id))
    return [(i, n) for i, n in rows]


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


@dataclass(frozen=True)
class LevelOnCall:
    """Who is on call at one level of a policy, and how the level assigns them."""

    users: tuple[str, ...] = ()  # everyone on call, in target order, each once
    rule_id: str | None = None
    strategy: str = ASSIGN_TO_EVERYONE
    position: int = 0  # round robin: whose turn is next

    @property
    def takes_turns(self) -> bool:
        """A round-robin level: one user per incident, in turn."""
        return self.strategy == ROUND_ROBIN and self.rule_id is not None

    def assignees(self, position: int | None = None) -> tuple[tuple[str, ...], int]:
        """Who the level assigns (everyone, or the user whose turn it is) and the next position."""
        return assignees(self.strategy, self.users, self.position if position is None else position)


# Every target of one level of some policies, with the level's rule and round-robin turn. Built
# once, the policies as one list parameter (``one_of``): the events processor runs it every batch,
# where building it and expanding an IN list cost more than running it.
_LEVEL_TARGETS = (
    select(EscalationRule.policy_id, EscalationRule.id, EscalationRule.assignment_strategy,
           RoundRobinPosition.next_index, EscalationTarget.user_id, EscalationTarget.schedule_id)
    .join(EscalationRule, EscalationRule.id == EscalationTarget.rule_id)
    .outerjoin(RoundRobinPosition, RoundRobinPosition.rule_id == EscalationRule.id)
    .where(one_of(EscalationRule.policy_id, name="policies"), EscalationRule.position == bindparam("position"))
    .order_by(EscalationRule.policy_id, EscalationTarget.position)
)


async def on_call_levels(
    session: AsyncSession, policy_ids: Iterable[str], level: int, at: datetime
) -> dict[str, LevelOnCall]:
    """Who level ``level`` of each policy pages at instant ``at`` (every asked id is a key): user
    targets themselves, schedule targets whoever is on call in the schedule then (nobody during a
    gap). In target order, each user once; deleted users and schedules are skipped. With the
    level's rule, its assignment strategy and (round robin) whose turn is next.

    A fixed number of statements whatever the number of policies: one for every policy's targets,
    three for every schedule they name (each rendered once), one for which users still exist."""
    wanted = _unique(policy_ids)
    if not wanted or level < 1:
        return {pid: LevelOnCall() for pid in wanted}
    rules: dict[str, tuple[str | None, str, int]] = {}
    targets: dict[str, list[Targeted]] = {pid: [] for pid in wanted}
    rows = await session.execute(_LEVEL_TARGETS, {"policies": wanted, "position": level - 1})
    for policy_id, rule_id, strategy, position, user_id, schedule_id in rows:
        rules[policy_id] = (rule_id, strategy, position or 0)
        targets[policy_id].append((user_id, schedule_id))
    users = await _resolve(session, targets, at)
    found: dict[str, LevelOnCall] = {}
    for pid in wanted:
        rule, how, turn = rules.get(pid, (None, ASSIGN_TO_EVERYONE, 0))
        found[pid] = LevelOnCall(tuple(users[pid]), rule, how, turn)
    return found


Targeted = tuple[str | None, str | None]  # (user id, schedule id): exactly one is set
K = TypeVar("K")


async def _resolve(session: AsyncSession, targets: dict[str, list[Targeted]], at: datetime) -> dict[str, list[str]]:
    """Each key's targets -> the users they page at ``at`` (in order, each once, live users only)."""
    return await _resolve_each(session, {key: (found, at) for key, found in targets.items()})


async def _resolve_each(
    session: AsyncSession, targets: Mapping[K, tuple[Sequence[Targeted], datetime]],
) -> dict[K, list[str]]:
    """Each key's targets at the key's own instant -> the users they page then (in order, each
    once, live users only). Every schedule is loaded and rendered once (its overrides over the
    span of the instants asked), whatever the number of keys."""
    schedule_ids = {sid for found, _ in targets.values() for _, sid in found if sid}
    instants = [at for _, at in targets.values()]
    sources = await on_call_sources(session, schedule_ids, min(instants), max(instants)) if schedule_ids else {}
    shifts: dict[tuple[str, datetime], str | None] = {}

    def on_call(schedule_id: str, at: datetime) -> str | None:
        if (schedule_id, at) not in shifts:
            source = sources.get(schedule_id)
            shift = shift_at(source, at) if source is not None else None
            shifts[schedule_id, at] = shift.user if shift is not None else None
        return shifts[schedule_id, at]

    candidates: dict[K, list[str]] = {}
    for key, (found, at) in targets.items():
        users: list[str] = []
        for user_id, schedule_id in found:
            if user_id:
                users.append(user_id)
            elif schedule_id and (user := on_call(schedule_id, at)) is not None:
                users.append(user)
        candidates[key] = users
    live = await existing_user_ids(session, [u for users in candidates.values() for u in users])
    return {key: [u for u in dict.fromkeys(users) if u in live] for key, users in candidates.items()}


async def on_call_for_targets(
    session: AsyncSession, targets: Iterable[tuple[str, str]], at: datetime
) -> list[str]:
    """Who ``targets`` ((type "user" | "schedule", id), as an escalation path froze them) page at
    ``at``: users themselves, schedules whoever is on call then. In order, each once, live users only."""
    return (await on_call_for_target_sets(session, {"": (targets, at)}))[""]


async def on_call_for_target_sets(
    session: AsyncSession, asked: Mapping[K, tuple[Iterable[tuple[str, str]], datetime]],
) -> dict[K, list[str]]:
    """``on_call_for_targets`` for many (targets, instant) pairs at once (an engine batch): a
    fixed number of statements, each schedule loaded and rendered once."""
    if not asked:
        return {}
    found: dict[K, tuple[Sequence[Targeted], datetime]] = {
        key: ([(tid, None) if kind == "user" else (None, tid) for kind, tid in targets], at)
        for key, (targets, at) in asked.items()}
    return await _resolve_each(session, found)


async def on_call_at_level(
    session: AsyncSession, policy_ids: Iterable[str], level: int, at: datetime
) -> dict[str, list[str]]:
    """Everyone on call at level ``level`` of each policy at ``at`` (see ``on_call_levels``)."""
    return {pid: list(found.users) for pid, found in (await on_call_levels(session, policy_ids, level, at)).items()}


async def on_call_user_ids(session: AsyncSession, policy_id: str, level: int, at: datetime) -> list[str]:
    """Who level ``level`` of one policy pages at instant ``at`` (see ``on_call_at_level``)."""
    return (await on_call_at_level(session, [policy_id], level, at)).get(policy_id, [])


async def assign_level(session: AsyncSession, policy_id: str, level: int, at: datetime) -> tuple[str, ...]:
    """Who an incident reaching level ``level`` of the policy is assigned to at ``at``: everyone on
    call, or for a round-robin rule the one whose turn it is (the turn is taken: stored)."""
    found = (await on_call_levels(session, [policy_id], level, at))[policy_id]
    if not found.takes_turns or found.rule_id is None:
        return found.users
    return await take_round_robin_turn(session, found.rule_id, found.users)


async def take_round_robin_turn(session: AsyncSession, rule_id: str, users: Sequence[str]) -> tuple[str, ...]:
    """The user whose turn it is on a round-robin rule among ``users`` (none: ()), and the turn
    taken. The position row is locked (PostgreSQL) so two concurrent turns never pick one user."""
    if not users:
        return ()
    await session.execute(_insert_position(session, [{"rule_id": rule_id, "next_index": 0}]))
    position = (await session.execute(
        select(RoundRobinPosition.next_index).where(RoundRobinPosition.rule_id == rule_id).with_for_update()
    )).scalar_one()
    user, following = round_robin_pick(users, position)
    await session.execute(update(RoundRobinPosition).where(RoundRobinPosition.rule_id == rule_id)
                          .values(next_index=following))
    return (user,) if user is not None else ()


async def take_round_robin_turns(
    session: AsyncSession, turns: Sequence[tuple[str, Sequence[str]]],
) -> list[tuple[str, ...]]:
    """``take_round_robin_turn`` for many turns at once, taken in the order given (rule id, its
    on-call users): the user of each turn (none: ()). Three statements whatever the number of
    turns; the position rows are locked in rule order (PostgreSQL)."""
    rules = sorted({rule for rule, users in turns if users})
    if not rules:
        return [() for _ in turns]
    await session.execute(_insert_position(session, [{"rule_id": r, "next_index": 0} for r in rules]))
    rows = await session.execute(
        select(RoundRobinPosition.rule_id, RoundRobinPosition.next_index)
        .where(RoundRobinPosition.rule_id.in_(rules)).order_by(RoundRobinPosition.rule_id).with_for_update())
    positions: dict[str, int] = dict(rows.all())
    picked: list[tuple[str, ...]] = []
    for rule, users in turns:
        user, positions[rule] = round_robin_pick(users, positions.get(rule, 0))
        picked.append((user,) if user is not None else ())
    table = table_of(RoundRobinPosition)  # Core: an executemany UPDATE by key
    await session.execute(update(table).where(table.c.rule_id == bindparam("b_rule"))
                          .values(next_index=bindparam("b_index")),
                          [{"b_rule": r, "b_index": positions[r]} for r in rules])
    return picked


def _insert_position(session: AsyncSession | Session, rows: list[dict[str, Any]]) -> Any:
    """INSERT of round-robin positions that leaves existing ones alone (either database)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(RoundRobinPosition).values(rows).on_conflict_do_nothing(index_elements=["rule_id"])


def store_round_robin_positions_sync(session: Session, positions: dict[str, int]) -> None:
    """Set each rule's next round-robin position (the event processor's batch took its turns)."""
    if not positions:
        return
    rows = [{"rule_id": rule_id, "next_index": index} for rule_id, index in sorted(positions.items())]
    session.execute(_insert_position(session, rows))
    table = table_of(RoundRobinPosition)  # Core: an executemany UPDATE by key
    session.execute(update(table).where(table.c.rule_id == bindparam("b_rule"))
                    .values(next_index=bindparam("b_index")),
                    [{"b_rule": r["rule_id"], "b_index": r["next_index"]} for r in rows])


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


def first_levels_sync(session: Session, policy_ids: Iterable[str], at: datetime) -> dict[str, LevelOnCall]:
    """Who is on call at level 1 of each policy at ``at`` and how the level assigns, for the
    synchronous event processor: a fixed number of statements for the whole batch, each schedule
    rendered once. Runs ``on_call_levels`` itself over the sync session (``tocsin.db.bridge``)."""
    adapter: Any = SyncAsAsync(session)
    return run_now(on_call_levels(adapter, policy_ids, 1, at))


def first_level_on_call_sync(session: Session, policy_ids: Iterable[str], at: datetime) -> dict[str, list[str]]:
    """Everyone on call at level 1 of each policy at ``at`` (see ``first_levels_sync``)."""
    return {pid: list(found.users) for pid, found in first_levels_sync(session, policy_ids, at).items()}
