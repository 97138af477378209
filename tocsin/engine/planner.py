"""Stores the work a change implies in the change's own transaction (the before-commit hook).

``plan_transaction`` runs just before every write transaction commits (``Database.before_commit``;
the composition root registers it). It takes the incidents the transaction's records touched
(``incidents.transition_writer.recorded``) and any a step asked to re-plan (``touch``), moves
their escalation rows on (``tocsin.engine.progress``: frozen path, level start, loop, exhausted,
renotify), then makes their stored work match what ``tocsin.engine.plan`` wants:

- ``incident_timers``: desired timers upserted, others deleted;
- ``notifications``: desired sends not yet made inserted (PENDING; a send made before, whatever
  its outcome, is never made again: its key is unique), pending sends no longer desired
  CANCELLED (acknowledged, resolved, merged, reassigned away, urgency changed).

Set-based: a fixed handful of statements per transaction however many incidents, so the events
processor's batches of 100-200 new incidents pay little (measured in ARCHITECTURE.md).

Maintenance: a service in an open maintenance window pages nobody, yet its escalations keep
advancing here as usual; the notify step suppresses the sends that fall due during the window
(status SUPPRESSED), so the planner needs no maintenance rule of its own.

``sync_incidents`` runs the same sync for given incidents (the reconcile step) and creates the
escalation row an open incident lacks; it returns how many incidents needed a repair.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tocsin.db.base import table_of
from tocsin.db.bulk import insert_many, update_many
from tocsin.db.id_lists import one_of
from tocsin.engine import facts
from tocsin.engine.models import ESCALATE, IncidentEscalation, IncidentTimer
from tocsin.engine.path import EMPTY_PATH
from tocsin.engine.plan import EscalationFacts, IncidentFacts, Plan, Send, ServiceFacts, plan
from tocsin.engine.progress import Progress, matters, progress
from tocsin.engine.step import CLOCK_STEP, ESCALATE_STEP, NOTIFY_STEP
from tocsin.ids import new_id
from tocsin.incidents.transition_records import Record, Triggered
from tocsin.incidents.transition_writer import opened_rows, recorded
from tocsin.notifications.models import CANCELLED, INCIDENT, PENDING, Notification
from tocsin.webhooks.notices import NOTICES_DUE

TOUCHED = "engine_replan"  # session.info: incident ids a step changed, re-planned at commit
TOUCHED_AT = "engine_replan_at"
PLANNED = "engine_planned"  # session.info: how many of recorded(session) were planned already

# Called when a transaction stored work: the steps it is for and when the earliest falls due.
Announce = Callable[[Session, Mapping[str, datetime]], None]


def touch(session: Session | AsyncSession, incident_ids: Iterable[str], now: datetime) -> None:
    """Re-plan these incidents when the transaction commits, even if no record names them (a
    step that found nothing to change must still replace the timer it acted on)."""
    info = session.info
    info.setdefault(TOUCHED, set()).update(incident_ids)
    info[TOUCHED_AT] = max(now, info.get(TOUCHED_AT, now))


def plan_transaction(session: Session, announce: Announce) -> None:
    """The before-commit hook: plan every incident this transaction changed; ``announce(session,
    due)`` when work was stored (the engine wakes after the commit for the steps named in ``due``,
    at their times)."""
    info = session.info
    if NOTICES_DUE in info:  # admins' notices queued in this transaction (a webhook switched off)
        announce(session, {NOTIFY_STEP: info.pop(NOTICES_DUE)})
    records = recorded(session)
    fresh = records[info.get(PLANNED, 0):]
    touched: set[str] = info.pop(TOUCHED, set())
    if not fresh and not touched:
        return  # most transactions: nothing to plan, nothing read
    info[PLANNED] = len(records)
    relevant = [r for r in fresh if matters(r)]
    if not relevant and not touched:
        return
    times = [r.at for r in relevant] + ([info.pop(TOUCHED_AT)] if TOUCHED_AT in info else [])
    ids = list(dict.fromkeys([r.incident_id for r in relevant] + sorted(touched)))
    outcome = _sync(session, ids, relevant, max(times))
    if outcome.due:
        announce(session, outcome.due)


def sync_incidents(session: Session, incident_ids: Collection[str], now: datetime) -> int:
    """Make the given incidents' escalation rows, timers and sends what they should be; the
    number of incidents that needed a repair (anything written)."""
    return len(_sync(session, list(dict.fromkeys(incident_ids)), [], now).repaired)


@dataclass
class _Outcome:
    repaired: set[str] = field(default_factory=set)
    due: dict[str, datetime] = field(default_factory=dict)  # step -> its earliest new work

    def stored(self, step: str, times: Iterable[datetime]) -> None:
        earliest = min(times, default=None)
        if earliest is not None:
            self.due[step] = min(earliest, self.due.get(step, earliest))


_NO_SERVICE = ServiceFacts()  # the facts of a service not found (frozen: one shared, not one built per incident)


def _sync(session: Session, ids: list[str], records: list[Record], now: datetime) -> _Outcome:
    outcome = _Outcome()
    if not ids:
        return outcome
    if session.new or session.dirty or session.deleted:
        session.flush()  # the ORM changes of the transaction, before reading them back
    # Incidents this transaction opened have no timers or sends yet; those a processor batch
    # inserted are not even read back (their rows are in the session).
    new = {r.incident_id for r in records if isinstance(r, Triggered) and r.opened}
    inserted = {i: row for i, row in opened_rows(session).items() if i in new}
    rows, assigned = facts.opened(inserted)
    rows.update(facts.incidents(session, [i for i in ids if i not in inserted]))
    service_facts = facts.services(session, {row.service_id for row in rows.values()})
    by_incident: dict[str, list[Record]] = {}
    for r in records:
        by_incident.setdefault(r.incident_id, []).append(r)
    escalations = _progress(session, rows, by_incident, now, outcome)
    triggered = [i for i, row in rows.items() if row.status == "triggered"]
    assigned.update(facts.assignments(session, [i for i in triggered if i not in inserted]))
    rules = facts.contact_rules(session, {u for i in triggered for u, _ in assigned.get(i, ())})
    plans: dict[str, Plan] = {}
    for iid, row in rows.items():
        esc = escalations.get(iid)
        users = tuple(assigned.get(iid, ()))
        plans[iid] = plan(IncidentFacts(
            id=iid, status=row.status, urgency=row.urgency, created_at=row.created_at,
            last_status_change_at=row.last_status_change_at, snoozed_until=row.snoozed_until, level=row.level,
            assignments=users, service=service_facts.get(row.service_id, _NO_SERVICE),
            escalation=None if esc is None else EscalationFacts(
                esc.path, esc.loop, esc.exhausted, esc.level_started_at, esc.opened_at, esc.renotify_at),
            rules={u: rules.get(u, []) for u, _ in users},
        ), now)
    known = [i for i in rows if i not in new]
    _sync_timers(session, plans, known, outcome)
    _sync_sends(session, plans, known, now, outcome)
    return outcome


def _progress(
    session: Session, rows: dict[str, facts.IncidentRow], records: dict[str, list[Record]], now: datetime,
    outcome: _Outcome,
) -> dict[str, Progress]:
    """Move each incident's escalation row on by its records; create the row an open incident
    lacks; store what changed. Returns the rows as they now stand."""
    result: dict[str, Progress] = {}
    changed: dict[str, Progress] = {}
    for iid, row in rows.items():
        before = row.escalation
        after = progress(before, records.get(iid, ()))
        if after is None and row.status != "resolved":
            # No row for an open incident (opened before the engine, or lost): escalate from now.
            after = Progress.fresh(now, opened_at=row.created_at)
        if after is None:
            continue
        result[iid] = after
        if after != before:
            changed[iid] = after
    to_freeze = {rows[i].policy_id for i, p in changed.items() if p.freeze and rows[i].policy_id}
    frozen = facts.paths(session, [p for p in to_freeze if p])
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for iid, p in changed.items():
        policy = rows[iid].policy_id
        if p.freeze:  # (not dataclasses.replace: this runs per new incident on the processor's hot path)
            path = frozen.get(policy, EMPTY_PATH) if policy else EMPTY_PATH
            p = result[iid] = Progress(path, p.loop, p.exhausted, p.level_started_at, p.opened_at, p.renotify_at)
        values = facts.row_values(iid, policy, p)
        (updates if rows[iid].escalation is not None else inserts).append(values)
        if not records.get(iid):
            outcome.repaired.add(iid)  # nothing asked for this: a repair
    insert_many(session, table_of(IncidentEscalation), inserts)
    update_many(session, table_of(IncidentEscalation), "incident_id", updates)
    return result


_TIMERS, _SENDS = table_of(IncidentTimer), table_of(Notification)


def _sync_timers(session: Session, plans: dict[str, Plan], known: list[str], outcome: _Outcome) -> None:
    existing: dict[tuple[str, str], datetime] = {}
    if known:
        t = _TIMERS.c
        rows = session.execute(select(t.incident_id, t.kind, t.due_at).where(one_of(t.incident_id, known)))
        existing = {(i, k): due for i, k, due in rows}
    desired = {(iid, kind): due for iid, p in plans.items() for kind, due in p.timers.items()}
    gone = sorted(key for key in existing if key not in desired)
    if gone:
        session.execute(delete(_TIMERS).where(tuple_(_TIMERS.c.incident_id, _TIMERS.c.kind).in_(gone)))
    known_ids = set(known)
    # Timers of incidents this transaction opened cannot exist yet: a plain INSERT.
    fresh: list[dict[str, Any]] = [
        {"incident_id": i, "kind": k, "due_at": due} for (i, k), due in desired.items() if i not in known_ids]
    changed: list[dict[str, Any]] = [{"incident_id": i, "kind": k, "due_at": due} for (i, k), due in desired.items()
               if i in known_ids and existing.get((i, k)) != due]
    insert_many(session, _TIMERS, fresh)
    insert_many(session, _TIMERS, changed, conflict=("incident_id", "kind"), set_columns=("due_at",))
    stored = fresh + changed
    outcome.stored(ESCALATE_STEP, (r["due_at"] for r in stored if r["kind"] == ESCALATE))
    outcome.stored(CLOCK_STEP, (r["due_at"] for r in stored if r["kind"] != ESCALATE))
    outcome.repaired.update(i for i, _ in gone)
    outcome.repaired.update(str(row["incident_id"]) for row in fresh + changed)


# Why a pending send was dropped, for whoever reads the row (GET /notifications shows errors).
CANCELLED_REASON = ("not sent: the incident no longer asks for it (acknowledged, resolved, reassigned "
                    "away or its urgency changed) before it was due")


def _sync_sends(
    session: Session, plans: dict[str, Plan], known: list[str], now: datetime, outcome: _Outcome,
) -> None:
    existing: dict[str, tuple[str, str, str]] = {}  # key -> (id, incident, status)
    n = _SENDS.c
    if known:
        rows = session.execute(select(n.key, n.id, n.incident_id, n.status)
                               .where(one_of(n.incident_id, known), n.kind == INCIDENT))
        existing = {key: (nid, str(iid), status) for key, nid, iid, status in rows}
    desired: dict[str, Send] = {s.key: s for p in plans.values() for s in p.sends}
    cancel = [(nid, iid) for key, (nid, iid, status) in existing.items() if status == PENDING and key not in desired]
    new = [s for key, s in desired.items() if key not in existing]
    if cancel:
        session.execute(update(_SENDS).where(one_of(n.id, sorted(i for i, _ in cancel)))
                        .values(status=CANCELLED, updated_at=now, last_error=CANCELLED_REASON))
    known_ids = set(known)
    # Sends of incidents this transaction opened cannot exist yet (their keys name the incident).
    fresh = [_send_row(s, now) for s in new if s.incident_id not in known_ids]
    again = [_send_row(s, now) for s in new if s.incident_id in known_ids]
    insert_many(session, _SENDS, fresh)
    # ON CONFLICT (key) DO NOTHING: a send another transaction made first stays its.
    insert_many(session, _SENDS, again, conflict=("key",))
    outcome.stored(NOTIFY_STEP, (s.due_at for s in new))
    outcome.repaired.update(i for _, i in cancel)
    outcome.repaired.update(s.incident_id for s in new)


def _send_row(send: Send, now: datetime) -> dict[str, Any]:
    return {"id": new_id(), "key": send.key, "kind": INCIDENT, "incident_id": send.incident_id,
            "user_id": send.user_id, "contact_method_id": send.contact_method_id, "rule_id": send.rule_id,
            "channel": send.channel, "address": send.address, "urgency": send.urgency, "detail": None,
            "status": PENDING, "due_at": send.due_at, "attempts": 0, "last_error": None,
            "provider_response": None, "sent_at": None, "created_at": now, "updated_at": now}
