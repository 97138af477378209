"""What the planner reads about the incidents it plans: a fixed number of statements for any
number of incidents (synchronous: it runs in the before-commit hook, on the transaction's own
session).

Core tables, not ORM entities: the planner runs on the events processor's hot path, where ORM
row loading was a measurable share of a batch. For the same reason the incidents a processor
batch opened are not read back: the batch writer leaves their rows and assignments in the session
(``incidents.transition_writer.opened_rows``), final for the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from tocsin.auth.models import User
from tocsin.db.base import table_of
from tocsin.engine.models import IncidentEscalation
from tocsin.engine.path import Path, PolicyRule, freeze
from tocsin.engine.plan import ContactRule, ServiceFacts
from tocsin.engine.progress import Progress
from tocsin.escalation.models import EscalationPolicy, EscalationRule, EscalationTarget
from tocsin.incidents.models import Incident, IncidentAssignment
from tocsin.services.models import Service
from tocsin.users.models import ContactMethod, NotificationRule

Assignments = dict[str, list[tuple[str, datetime]]]  # incident -> [(user, assigned at)]


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: str
    status: str
    urgency: str
    created_at: datetime
    last_status_change_at: datetime
    snoozed_until: datetime | None
    level: int
    policy_id: str | None
    service_id: str
    escalation: Progress | None  # the stored row; None when there is none yet


_I, _E = table_of(Incident).c, table_of(IncidentEscalation).c


def incidents(session: Session, ids: Collection[str]) -> dict[str, IncidentRow]:
    """The incidents with their escalation rows (one statement)."""
    if not ids:
        return {}
    rows = session.execute(
        select(_I.id, _I.status, _I.urgency, _I.created_at, _I.last_status_change_at, _I.snoozed_until,
               _I.escalation_level, _I.escalation_policy_id, _I.service_id, _E.incident_id, _E.path, _E.loop,
               _E.exhausted, _E.level_started_at, _E.opened_at, _E.renotify_at)
        .select_from(table_of(Incident).outerjoin(table_of(IncidentEscalation), _E.incident_id == _I.id))
        .where(_I.id.in_(list(ids)))
    )
    found: dict[str, IncidentRow] = {}
    for (iid, status, urgency, created, changed, snoozed, level, policy, service,
         escalated, path, loop, exhausted, started, opened, renotify) in rows:
        escalation = None if escalated is None else Progress(
            cast(Path, path), loop, exhausted, started, opened, renotify)
        found[iid] = IncidentRow(iid, status, urgency, created, changed, snoozed, level or 1, policy, service,
                                 escalation)
    return found


def opened(rows: Mapping[str, tuple[dict[str, Any], list[tuple[str, datetime]]]]) -> tuple[
        dict[str, IncidentRow], Assignments]:
    """Incidents the transaction inserted, from the rows it inserted (no statement)."""
    found: dict[str, IncidentRow] = {}
    assigned: Assignments = {}
    for iid, (row, users) in rows.items():
        found[iid] = IncidentRow(iid, row["status"], row["urgency"], row["created_at"], row["last_status_change_at"],
                                 row["snoozed_until"], row["escalation_level"] or 1, row["escalation_policy_id"],
                                 row["service_id"], None)
        if users:
            assigned[iid] = list(users)
    return found, assigned


def services(session: Session, ids: Collection[str]) -> dict[str, ServiceFacts]:
    """Each service's timeouts, urgency rule, support hours and scheduled actions (one statement)."""
    if not ids:
        return {}
    s = table_of(Service).c
    rows = session.execute(select(s.id, s.acknowledgement_timeout, s.auto_resolve_timeout, s.incident_urgency_rule,
                                  s.support_hours, s.scheduled_actions).where(s.id.in_(list(ids))))
    return {sid: ServiceFacts(ack, auto, rule, hours, tuple(actions or ()))
            for sid, ack, auto, rule, hours, actions in rows}


def paths(session: Session, policy_ids: Collection[str]) -> dict[str, Path]:
    """Each policy frozen as it stands now (one statement; deleted policies too: an incident
    keeps escalating through the policy it has)."""
    if not policy_ids:
        return {}
    rows = session.execute(
        select(EscalationPolicy.id, EscalationPolicy.num_loops, EscalationRule.id,
               EscalationRule.escalation_delay_in_minutes, EscalationRule.assignment_strategy,
               EscalationTarget.user_id, EscalationTarget.schedule_id)
        .select_from(EscalationPolicy)
        .outerjoin(EscalationRule, EscalationRule.policy_id == EscalationPolicy.id)
        .outerjoin(EscalationTarget, EscalationTarget.rule_id == EscalationRule.id)
        .where(EscalationPolicy.id.in_(sorted(policy_ids)))
        .order_by(EscalationPolicy.id, EscalationRule.position, EscalationTarget.position)
    )
    loops: dict[str, int] = {}
    rules: dict[str, dict[str, tuple[int, str, list[tuple[str, str]]]]] = {}
    for policy_id, num_loops, rule_id, delay, strategy, user_id, schedule_id in rows:
        loops[policy_id] = num_loops
        levels = rules.setdefault(policy_id, {})
        if rule_id is None:
            continue
        _, _, targets = levels.setdefault(rule_id, (delay, strategy, []))
        if user_id:
            targets.append(("user", user_id))
        elif schedule_id:
            targets.append(("schedule", schedule_id))
    return {
        pid: freeze(loops[pid], [PolicyRule(rid, delay, tuple(targets), strategy)
                                 for rid, (delay, strategy, targets) in rules[pid].items()])
        for pid in loops
    }


def assignments(session: Session, incident_ids: Collection[str]) -> Assignments:
    """Each incident's assignees with when they were assigned (one statement)."""
    found: Assignments = {}
    if not incident_ids:
        return found
    a = table_of(IncidentAssignment).c
    for incident_id, user_id, at in session.execute(
            select(a.incident_id, a.user_id, a.at).where(a.incident_id.in_(list(incident_ids)))
            .order_by(a.incident_id, a.at, a.user_id)):
        found.setdefault(incident_id, []).append((user_id, at))
    return found


def contact_rules(session: Session, user_ids: Collection[str]) -> dict[str, list[ContactRule]]:
    """Each (live) user's notification rules with their contact methods (one statement)."""
    found: dict[str, list[ContactRule]] = {}
    if not user_ids:
        return found
    r, m, u = (table_of(t).c for t in (NotificationRule, ContactMethod, User))
    rows = session.execute(
        select(r.user_id, r.id, r.start_delay_in_minutes, r.urgency, m.id, m.type, m.address)
        .select_from(table_of(NotificationRule)
                     .join(table_of(ContactMethod), m.id == r.contact_method_id)
                     .join(table_of(User), and_(u.id == r.user_id, u.deleted_at.is_(None))))
        .where(r.user_id.in_(list(user_ids)))
        .order_by(r.user_id, r.start_delay_in_minutes, r.id))
    for user_id, rule_id, delay, urgency, method_id, kind, address in rows:
        found.setdefault(user_id, []).append(ContactRule(rule_id, method_id, kind, address, delay, urgency))
    return found


def row_values(incident_id: str, policy_id: str | None, p: Progress) -> dict[str, Any]:
    """An ``incident_escalations`` row."""
    return {"incident_id": incident_id, "policy_id": policy_id, "path": p.path, "loop": p.loop,
            "exhausted": p.exhausted, "level_started_at": p.level_started_at, "opened_at": p.opened_at,
            "renotify_at": p.renotify_at}
