"""Escalation policy changes and reads, in the caller's transaction.

Every change writes its audit record here, in the same transaction.

Services sit ABOVE escalation in the layers (a service names its policy), so this domain cannot
import the services domain, yet a policy shows the services using it and refuses deletion while
one does. The functions that need it take the process's ``Wiring`` (``tocsin.http.wiring``),
whose ``services_using_policies`` the composition root fills with the services domain's query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.db.links import linked
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.escalation.models import EscalationPolicy, EscalationPolicyTeam, EscalationRule, EscalationTarget
from tocsin.escalation.round_robin import ASSIGN_TO_EVERYONE
from tocsin.escalation.schemas import PolicyCreate, PolicyFields, RuleIn
from tocsin.http.wiring import Wiring
from tocsin.ids import new_id
from tocsin.schedules.queries import existing_schedule_ids, gaps_between, on_call_sources, turns_between
from tocsin.teams.queries import existing_team_ids
from tocsin.users.queries import existing_user_ids

GAP_WINDOW = timedelta(days=14)  # how far ahead a schedule gap becomes a policy warning
# Rotation turns the gap check of one request may render across all its schedules; schedules
# past it are not checked (as a single too-dense schedule is not), so a page of policies
# targeting many dense schedules cannot take minutes.
GAP_TURN_BUDGET = 400_000


# --- what a policy is made of ----------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    kind: str  # "user" | "schedule"
    id: str


@dataclass(frozen=True)
class Rule:
    id: str
    escalation_delay_in_minutes: int
    targets: tuple[Target, ...]
    strategy: str = ASSIGN_TO_EVERYONE  # escalation_rule_assignment_strategy


@dataclass
class PolicyView:
    """A policy row with everything its JSON shows."""

    policy: EscalationPolicy
    rules: list[Rule] = field(default_factory=list)
    team_ids: list[str] = field(default_factory=list)
    services: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        """The configurable fields, as the audit trail records them."""
        p = self.policy
        return {
            "name": p.name,
            "description": p.description,
            "num_loops": p.num_loops,
            "on_call_handoff_notifications": p.on_call_handoff_notifications,
            "escalation_rules": [
                {"id": r.id, "escalation_delay_in_minutes": r.escalation_delay_in_minutes,
                 "targets": [{"type": f"{t.kind}_reference", "id": t.id} for t in r.targets],
                 "escalation_rule_assignment_strategy": r.strategy}
                for r in self.rules
            ],
            "teams": list(self.team_ids),
        }


async def get_policy(session: AsyncSession, policy_id: str) -> EscalationPolicy:
    policy = await session.get(EscalationPolicy, policy_id)
    if policy is None or policy.deleted_at is not None:
        raise NotFound(f"Escalation policy {policy_id} not found", errors=["Escalation policy not found"])
    return policy


async def rules_of(session: AsyncSession, policy_ids: Sequence[str]) -> dict[str, list[Rule]]:
    """Each policy's rules in level order, with their targets (two queries)."""
    found: dict[str, list[Rule]] = {pid: [] for pid in policy_ids}
    if not policy_ids:
        return found
    # Plain columns, not ORM objects: an update deletes and re-inserts rules under the same ids,
    # which loaded objects in the identity map would conflict with.
    rules = list(await session.execute(
        select(EscalationRule.id, EscalationRule.policy_id, EscalationRule.escalation_delay_in_minutes,
               EscalationRule.assignment_strategy)
        .where(EscalationRule.policy_id.in_(list(policy_ids)))
        .order_by(EscalationRule.policy_id, EscalationRule.position)
    ))
    targets: dict[str, list[Target]] = {rule_id: [] for rule_id, *_ in rules}
    if rules:
        rows = await session.execute(
            select(EscalationTarget.rule_id, EscalationTarget.user_id, EscalationTarget.schedule_id)
            .where(EscalationTarget.rule_id.in_(list(targets)))
            .order_by(EscalationTarget.rule_id, EscalationTarget.position)
        )
        for rule_id, user_id, schedule_id in rows:
            target_id = user_id or schedule_id
            assert target_id is not None  # the one_target check constraint: exactly one of them is set
            targets[rule_id].append(Target("user" if user_id else "schedule", target_id))
    for rule_id, policy_id, delay, strategy in rules:
        found[policy_id].append(Rule(rule_id, delay, tuple(targets[rule_id]), strategy))
    return found


async def teams_of(session: AsyncSession, policy_ids: Sequence[str]) -> dict[str, list[str]]:
    return await linked(session, EscalationPolicyTeam.policy_id, EscalationPolicyTeam.team_id, policy_ids)


async def views(
    session: AsyncSession, policies: Sequence[EscalationPolicy], wiring: Wiring, now: datetime
) -> list[PolicyView]:
    """Rules, teams, services and gap warnings of many policies in a handful of queries."""
    ids = [p.id for p in policies]
    rules = await rules_of(session, ids)
    teams = await teams_of(session, ids)
    services = await wiring.services_using_policies(session, ids) if ids else {}
    found = [PolicyView(p, rules[p.id], teams[p.id], list(services.get(p.id, []))) for p in policies]
    await _add_gap_warnings(session, found, now)
    return found


async def view(session: AsyncSession, policy: EscalationPolicy, wiring: Wiring, now: datetime) -> PolicyView:
    return (await views(session, [policy], wiring, now))[0]


async def snapshot(session: AsyncSession, policy: EscalationPolicy) -> dict[str, Any]:
    """The policy's configurable fields as the audit trail records them (no services or warnings)."""
    return PolicyView(policy, (await rules_of(session, [policy.id]))[policy.id],
                      (await teams_of(session, [policy.id]))[policy.id]).snapshot()


async def _add_gap_warnings(session: AsyncSession, found: list[PolicyView], now: datetime) -> None:
    """A schedule target with nobody on call at some point of the next two weeks would leave
    its level empty then: each such gap becomes a ``schedule_gap`` warning on the policy."""
    schedule_ids = {t.id for v in found for r in v.rules for t in r.targets if t.kind == "schedule"}
    until = now + GAP_WINDOW
    sources = await on_call_sources(session, schedule_ids, now, until)
    gaps: dict[str, list[tuple[datetime, datetime]] | None] = {}
    spent = 0
    for sid in sorted(sources):
        spent += turns_between(sources[sid], now, until)
        gaps[sid] = gaps_between(sources[sid], now, until) if spent <= GAP_TURN_BUDGET else None
    for v in found:
        seen: set[str] = set()
        for r in v.rules:
            for t in r.targets:
                if t.kind != "schedule" or t.id in seen or t.id not in sources:
                    continue
                seen.add(t.id)
                for start, end in gaps[t.id] or ():  # None: too dense to check cheaply
                    v.warnings.append({"type": "schedule_gap", "schedule_id": t.id,
                                       "schedule_name": sources[t.id].name, "start": start, "end": end})


# --- validation ------------------------------------------------------------------------------

async def _check_references(session: AsyncSession, fields: PolicyFields) -> None:
    """Every target and team must exist; each unknown one is a 400 naming its field."""
    users: list[tuple[str, str]] = []
    schedules: list[tuple[str, str]] = []
    for i, rule in enumerate(fields.escalation_rules or []):
        for j, target in enumerate(rule.targets):
            path = f"escalation_policy.escalation_rules[{i}].targets[{j}].id"
            (users if target.kind == "user" else schedules).append((path, target.id))
    teams = [(f"escalation_policy.teams[{i}].id", t.id) for i, t in enumerate(fields.teams or [])]
    known_users = await existing_user_ids(session, [i for _, i in users])
    known_schedules = await existing_schedule_ids(session, [i for _, i in schedules])
    known_teams = await existing_team_ids(session, [i for _, i in teams])
    missing = (
        [f"{path}: user {i} not found" for path, i in users if i not in known_users]
        + [f"{path}: schedule {i} not found" for path, i in schedules if i not in known_schedules]
        + [f"{path}: team {i} not found" for path, i in teams if i not in known_teams]
    )
    if missing:
        raise InvalidInput(errors=missing)


# --- writing ---------------------------------------------------------------------------------

async def _write_rules(session: AsyncSession, policy_id: str, rules: list[RuleIn], reusable: set[str]) -> None:
    """Replace the policy's rules; a rule sent back with its own id keeps that id."""
    old = select(EscalationRule.id).where(EscalationRule.policy_id == policy_id)
    await session.execute(delete(EscalationTarget).where(EscalationTarget.rule_id.in_(old)))
    await session.execute(delete(EscalationRule).where(EscalationRule.policy_id == policy_id))
    used: set[str] = set()
    for position, rule in enumerate(rules):
        rule_id = rule.id if rule.id in reusable and rule.id not in used else new_id()
        used.add(rule_id)
        session.add(EscalationRule(id=rule_id, policy_id=policy_id, position=position,
                                   escalation_delay_in_minutes=rule.escalation_delay_in_minutes,
                                   assignment_strategy=rule.strategy))
        await session.flush()  # the rule before its targets
        for index, target in enumerate(rule.targets):
            is_user = target.kind == "user"
            session.add(EscalationTarget(rule_id=rule_id, position=index,
                                         user_id=target.id if is_user else None,
                                         schedule_id=None if is_user else target.id))
    await session.flush()


async def _write_teams(session: AsyncSession, policy_id: str, team_ids: Iterable[str]) -> None:
    await session.execute(delete(EscalationPolicyTeam).where(EscalationPolicyTeam.policy_id == policy_id))
    for team_id in dict.fromkeys(team_ids):
        session.add(EscalationPolicyTeam(policy_id=policy_id, team_id=team_id))
    await session.flush()


def _apply(policy: EscalationPolicy, fields: PolicyFields) -> None:
    data = fields.model_dump(exclude_unset=True)
    for name in ("name", "description", "num_loops", "on_call_handoff_notifications"):
        if name in data:
            setattr(policy, name, data[name])


async def create_policy(session: AsyncSession, fields: PolicyCreate, actor: Actor, now: datetime) -> EscalationPolicy:
    await _check_references(session, fields)
    policy = EscalationPolicy(id=new_id(), name=fields.name, num_loops=0,
                              on_call_handoff_notifications="if_has_services", created_at=now, updated_at=now)
    _apply(policy, fields)
    session.add(policy)
    await session.flush()
    await _write_rules(session, policy.id, fields.escalation_rules, set())
    await _write_teams(session, policy.id, [t.id for t in fields.teams or []])
    record(session, actor, action="create", resource_type="escalation_policy", resource_id=policy.id,
           summary=policy.name, after=await snapshot(session, policy), at=now)
    return policy


async def update_policy(
    session: AsyncSession, policy_id: str, fields: PolicyFields, actor: Actor, now: datetime,
) -> EscalationPolicy:
    policy = await get_policy(session, policy_id)
    before = await snapshot(session, policy)
    await _check_references(session, fields)
    _apply(policy, fields)
    sent = fields.model_fields_set
    if "escalation_rules" in sent and fields.escalation_rules is not None:
        current = {r.id for r in (await rules_of(session, [policy_id]))[policy_id]}
        await _write_rules(session, policy_id, fields.escalation_rules, current)
    if "teams" in sent and fields.teams is not None:
        await _write_teams(session, policy_id, [t.id for t in fields.teams])
    policy.updated_at = now
    await session.flush()
    _record_update(session, actor, policy, before, await snapshot(session, policy), now)
    return policy


def _record_update(session: AsyncSession, actor: Actor, policy: EscalationPolicy,
                   before: dict[str, Any], after: dict[str, Any], now: datetime) -> None:
    record(session, actor, action="update", resource_type="escalation_policy", resource_id=policy.id,
           summary=policy.name, before=before, after=after, at=now)


async def delete_policy(
    session: AsyncSession, policy_id: str, wiring: Wiring, actor: Actor, now: datetime,
) -> EscalationPolicy:
    """Soft delete; refused (400) while a service uses the policy, naming those services."""
    policy = await get_policy(session, policy_id)
    users = (await wiring.services_using_policies(session, [policy_id])).get(policy_id, [])
    if users:
        names = ", ".join(f"{name} ({sid})" for sid, name in users)
        raise Conflict(errors=[f"This escalation policy is used by services and cannot be deleted: {names}"])
    before = await snapshot(session, policy)
    policy.deleted_at = now
    await session.flush()
    record(session, actor, action="delete", resource_type="escalation_policy", resource_id=policy.id,
           summary=policy.name, before=before, at=now)
    return policy


async def add_team(
    session: AsyncSession, team_id: str, policy_id: str, actor: Actor, now: datetime,
) -> EscalationPolicy:
    policy = await get_policy(session, policy_id)
    if not await existing_team_ids(session, [team_id]):
        raise NotFound(f"Team {team_id} not found", errors=["Team not found"])
    current = (await teams_of(session, [policy_id]))[policy_id]
    if team_id not in current:
        before = await snapshot(session, policy)
        session.add(EscalationPolicyTeam(policy_id=policy_id, team_id=team_id))
        policy.updated_at = now
        await session.flush()
        _record_update(session, actor, policy, before, await snapshot(session, policy), now)
    return policy


async def remove_team(
    session: AsyncSession, team_id: str, policy_id: str, actor: Actor, now: datetime,
) -> EscalationPolicy:
    policy = await get_policy(session, policy_id)
    if not await existing_team_ids(session, [team_id]):
        raise NotFound(f"Team {team_id} not found", errors=["Team not found"])
    current = (await teams_of(session, [policy_id]))[policy_id]
    if team_id not in current:
        raise NotFound(f"Escalation policy {policy_id} does not belong to team {team_id}",
                       errors=["The escalation policy is not associated with this team"])
    before = await snapshot(session, policy)
    await session.execute(delete(EscalationPolicyTeam).where(
        EscalationPolicyTeam.policy_id == policy_id, EscalationPolicyTeam.team_id == team_id))
    policy.updated_at = now
    await session.flush()
    _record_update(session, actor, policy, before, await snapshot(session, policy), now)
    return policy
