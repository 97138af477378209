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
from typing import Any
from typing import cast as typing_cast

import orjson
from sqlalchemy import Text, and_, cast, select
from sqlalchemy.orm import Session

from tocsin.auth.models import User
from tocsin.db.base import table_of
from tocsin.db.id_lists import one_of
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


# The statements, built once (building a select is a good part of running a small one), each
# taking its ids as one list parameter (``one_of``: no per-id expansion at each run).
_I, _E = table_of(Incident).c, table_of(IncidentEscalation).c
_S = table_of(Service).c
_A = table_of(IncidentAssignment).c
_R, _M, _U = (table_of(t).c for t in (NotificationRule, ContactMethod, User))
_P, _L, _T = (table_of(t).c for t in (EscalationPolicy, EscalationRule, EscalationTarget))
# A batch's incidents mostly share their policy's frozen path: read as text and decoded once per
# distinct text (``_path``), the incidents share one object (never changed in place: a path is
# replaced whole when a policy is frozen anew).
_PATH_TEXT = cast(_E.path, Text)

_INCIDENTS = (
    select(_I.id, _I.status, _I.urgency, _I.created_at, _I.last_status_change_at, _I.snoozed_until,
           _I.escalation_level, _I.escalation_policy_id, _I.service_id, _E.incident_id, _PATH_TEXT, _E.loop,
           _E.exhausted, _E.level_started_at, _E.opened_at, _E.renotify_at)
    .select_from(table_of(Incident).outerjoin(table_of(IncidentEscalation), _E.incident_id == _I.id))
    .where(one_of(_I.id, name="ids")))
_SERVICES = select(_S.id, _S.acknowledgement_timeout, _S.auto_resolve_timeout, _S.incident_urgency_rule,
                   _S.support_hours, _S.scheduled_actions).where(one_of(_S.id, name="ids"))
_PATHS = (
    select(_P.id, _P.num_loops, _L.id, _L.escalation_delay_in_minutes, _L.assignment_strategy, _T.user_id,
           _T.schedule_id)
    .select_from(table_of(EscalationPolicy).outerjoin(table_of(EscalationRule), _L.policy_id == _P.id)
                 .outerjoin(table_of(EscalationTarget), _T.rule_id == _L.id))
    .where(one_of(_P.id, name="ids")).order_by(_P.id, _L.position, _T.position))
_ASSIGNMENTS = (select(_A.incident_id, _A.user_id, _A.at).where(one_of(_A.incident_id, name="ids"))
                .order_by(_A.incident_id, _A.at, _A.user_id))
_CONTACT_RULES = (
    select(_R.user_id, _R.id, _R.start_delay_in_minutes, _R.urgency, _M.id, _M.type, _M.address)
    .select_from(table_of(NotificationRule).join(table_of(ContactMethod), _M.id == _R.contact_method_id)
                 .join(table_of(User), and_(_U.id == _R.user_id, _U.deleted_at.is_(None))))
    .where(one_of(_R.user_id, name="ids")).order_by(_R.user_id, _R.start_delay_in_minutes, _R.id))


def _path(text: str | None, decoded: dict[str, Path]) -> Path | None:
    if text is None:
        return None
    found = decoded.get(text)
    if found is None:
        found = decoded[text] = typing_cast(Path, orjson.loads(text))
    return found


_ESCALATIONS = select(_E.incident_id, _PATH_TEXT, _E.loop, _E.exhausted).where(one_of(_E.incident_id, name="ids"))


def escalations(session: Session, ids: Collection[str]) -> dict[str, tuple[Path, int, bool]]:
    """Each incident's frozen path, loop and whether it is exhausted (one statement)."""
    decoded: dict[str, Path] = {}
    return {iid: (typing_cast(Path, _path(text, decoded)), loop, exhausted)
            for iid, text, loop, exhausted in _rows(session, _ESCALATIONS, ids)}


def _rows(session: Session, statement: Any, ids: Collection[str]) -> Any:
    return session.connection().execute(statement, {"ids": list(ids)})


def incidents(session: Session, ids: Collection[str]) -> dict[str, IncidentRow]:
    """The incidents with their escalation rows (one statement)."""
    if not ids:
        return {}
    found: dict[str, IncidentRow] = {}
    decoded: dict[str, Path] = {}
    for (iid, status, urgency, created, changed, snoozed, level, policy, service,
         escalated, path, loop, exhausted, started, opened, renotify) in _rows(session, _INCIDENTS, ids):
        escalation = None if escalated is None else Progress(
            typing_cast(Path, _path(path, decoded)), loop, exhausted, started, opened, renotify)
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
    return {sid: ServiceFacts(ack, auto, rule, hours, tuple(actions or ()))
            for sid, ack, auto, rule, hours, actions in _rows(session, _SERVICES, ids)}


def paths(session: Session, policy_ids: Collection[str]) -> dict[str, Path]:
    """Each policy frozen as it stands now (one statement; deleted policies too: an incident
    keeps escalating through the policy it has)."""
    if not policy_ids:
        return {}
    loops: dict[str, int] = {}
    rules: dict[str, dict[str, tuple[int, str, list[tuple[str, str]]]]] = {}
    for policy_id, num_loops, rule_id, delay, strategy, user_id, schedule_id in _rows(session, _PATHS, policy_ids):
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
    if incident_ids:
        for incident_id, user_id, at in _rows(session, _ASSIGNMENTS, incident_ids):
            found.setdefault(incident_id, []).append((user_id, at))
    return found


def contact_rules(session: Session, user_ids: Collection[str]) -> dict[str, list[ContactRule]]:
    """Each (live) user's notification rules with their contact methods (one statement)."""
    found: dict[str, list[ContactRule]] = {}
    if user_ids:
        for user_id, rule_id, delay, urgency, method_id, kind, address in _rows(session, _CONTACT_RULES, user_ids):
            found.setdefault(user_id, []).append(ContactRule(rule_id, method_id, kind, address, delay, urgency))
    return found


def row_values(incident_id: str, policy_id: str | None, p: Progress) -> dict[str, Any]:
    """An ``incident_escalations`` row."""
    return {"incident_id": incident_id, "policy_id": policy_id, "path": p.path, "loop": p.loop,
            "exhausted": p.exhausted, "level_started_at": p.level_started_at, "opened_at": p.opened_at,
            "renotify_at": p.renotify_at}
