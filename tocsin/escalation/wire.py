"""Escalation policies and on-call entries -> PagerDuty JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tocsin.escalation.logic import PolicyView, Target
from tocsin.http.refs import envelope, iso, reference


@dataclass
class Names:
    """What references show about the objects a policy names (loaded in bulk by the caller)."""

    users: dict[str, Any] = field(default_factory=dict)  # id -> tocsin.users.queries.UserFacts
    schedules: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)


def user_json(base: str, user_id: str, names: Names, expand: bool) -> dict[str, Any]:
    facts = names.users.get(user_id)
    name = facts.name if facts is not None else user_id
    if not expand:
        return reference(base, "user", user_id, name)
    body = envelope(base, "user", user_id, name)
    if facts is not None:
        body.update(name=facts.name, email=facts.email, time_zone=facts.time_zone,
                    role=facts.role, color=facts.color)
    return body


def schedule_json(base: str, schedule_id: str, names: Names, expand: bool) -> dict[str, Any]:
    name = names.schedules.get(schedule_id, schedule_id)
    if not expand:
        return reference(base, "schedule", schedule_id, name)
    body = envelope(base, "schedule", schedule_id, name)
    body["name"] = name
    return body


def policy_ref_json(base: str, policy_id: str, names: Names, expand: bool) -> dict[str, Any]:
    name = names.policies.get(policy_id, policy_id)
    if not expand:
        return reference(base, "escalation_policy", policy_id, name)
    body = envelope(base, "escalation_policy", policy_id, name)
    body["name"] = name
    return body


def _target(base: str, target: Target, names: Names, expand: bool) -> dict[str, Any]:
    if target.kind == "user":
        return user_json(base, target.id, names, expand)
    return schedule_json(base, target.id, names, expand)


def _named(base: str, kind: str, id_: str, name: str, expand: bool) -> dict[str, Any]:
    if not expand:
        return reference(base, kind, id_, name)
    body = envelope(base, kind, id_, name)
    body["name"] = name
    return body


def warning_json(base: str, warning: dict[str, Any], tz: ZoneInfo | None) -> dict[str, Any]:
    start: datetime = warning["start"]
    end: datetime = warning["end"]
    name = warning["schedule_name"]
    return {
        "type": "schedule_gap",
        "schedule": reference(base, "schedule", warning["schedule_id"], name),
        "start": iso(start, tz),
        "end": iso(end, tz),
        "message": f"Nobody is on call in schedule {name} from {iso(start, tz)} to {iso(end, tz)}",
    }


def policy_json(
    base: str, v: PolicyView, names: Names, include: frozenset[str], tz: ZoneInfo | None = None
) -> dict[str, Any]:
    p = v.policy
    body = envelope(base, "escalation_policy", p.id, p.name)
    expand_targets = "targets" in include
    body.update(
        name=p.name,
        description=p.description or "",
        num_loops=p.num_loops,
        on_call_handoff_notifications=p.on_call_handoff_notifications,
        escalation_rules=[
            {
                "id": r.id,
                "escalation_delay_in_minutes": r.escalation_delay_in_minutes,
                "targets": [_target(base, t, names, expand_targets) for t in r.targets],
                # A string, as PagerDuty's EscalationRule schema has it (requests may send {"type": ...}).
                "escalation_rule_assignment_strategy": r.strategy,
            }
            for r in v.rules
        ],
        services=[_named(base, "service", sid, name, "services" in include) for sid, name in v.services],
        teams=[_named(base, "team", tid, names.teams.get(tid, tid), "teams" in include) for tid in v.team_ids],
        created_at=iso(p.created_at, tz),
        updated_at=iso(p.updated_at, tz),
        warnings=[warning_json(base, w, tz) for w in v.warnings],
    )
    return body
