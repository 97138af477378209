"""Apply alert events to alerts and incidents, in the caller's transaction.

Synchronous on purpose: on SQLite the processor runs it in a worker thread on its own
connection so the write lock is never held across event-loop turns; on PostgreSQL it runs
inside ``AsyncSession.run_sync``.

Loads the open alerts the batch can touch, asks ``dedup.plan`` what each event does, and hands
each step to the ``BatchWriter`` (``incidents.batch_writer``), which turns it into an incident
command decided by ``transitions`` (the same seam the REST API uses) and writes the result with a
handful of multi-row statements per batch rather than several per event.

Times: every incident change and log entry of a batch is dated by the batch's processing time
(the runtime clock read once per batch, as maintenance windows are judged); the alert keeps when
its event was received.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.base import table_of
from tocsin.db.bridge import SyncAsAsync, run_now
from tocsin.db.id_lists import one_of
from tocsin.escalation.queries import first_levels_sync
from tocsin.ids import new_id
from tocsin.incidents.batch_writer import AlertEventIn as AlertEventIn  # the processor's input type
from tocsin.incidents.batch_writer import BatchWriter
from tocsin.incidents.dedup import Action, DedupKey, OpenAlert, PlannedEvent, plan
from tocsin.incidents.models import Alert, Incident
from tocsin.incidents.transition_records import Record
from tocsin.maintenance import queries as maintenance
from tocsin.users.queries import user_refs


def _open_alerts(session: Session, keys: set[DedupKey]) -> dict[DedupKey, OpenAlert]:
    """The open alerts of ``keys``. PostgreSQL: their incidents are locked first (``FOR UPDATE``,
    in id order, as the REST API locks an incident before changing it and its alerts), then read
    again, so a REST change still uncommitted when the batch started is waited for and seen
    instead of being planned against (e.g. a trigger appended to an incident resolved meanwhile)."""
    found = _read_open_alerts(session, keys)
    if session.get_bind().dialect.name != "postgresql":
        return found  # SQLite: the processor re-checks under the write lock (still_valid)
    locked: set[str] = set()
    while need := {a.incident_id for a in found.values()} - locked:
        session.execute(select(Incident.id).where(Incident.id.in_(sorted(need)))
                        .order_by(Incident.id).with_for_update())
        locked |= need
        found = _read_open_alerts(session, keys)
    return found


# The open alerts of some integrations' dedup keys. Both lists are IN lists rather than one list
# of (integration, key) pairs: SQLite answers a pair list by scanning every open alert, but these
# by searching the open-dedup-key index once per (integration, key) combination. Each list is one
# parameter (``one_of``: the statement's text stays the same, no IN list expanded per run).
_A, _I = table_of(Alert).c, table_of(Incident).c
_OPEN_ALERTS = (
    select(_A.integration_id, _A.dedup_key, _A.id, _A.incident_id, _I.status)
    .join_from(table_of(Alert), table_of(Incident), _I.id == _A.incident_id)
    .where(_A.status != "resolved", one_of(_A.integration_id, name="integrations"), one_of(_A.dedup_key, name="keys")))
MAX_KEYS = 400  # bounded IN lists
MAX_PROBES = 1000  # integrations x keys one statement may look up


def lookup_chunks(keys: set[DedupKey]) -> list[tuple[list[str], list[str]]]:
    """(integrations, dedup keys) to look up together, covering every pair of ``keys``: at most
    MAX_KEYS keys and MAX_PROBES combinations a statement (a batch's events mostly come from one
    integration, so mostly one statement; many integrations with a key or two each share a few)."""
    by_integration: dict[str, set[str]] = {}
    for integration, key in sorted(keys):
        by_integration.setdefault(integration, set()).add(key)
    chunks: list[tuple[list[str], list[str]]] = []
    integrations: list[str] = []
    dedup_keys: set[str] = set()
    for integration, mine in by_integration.items():
        for part in _parts(sorted(mine), MAX_KEYS):
            union = dedup_keys | set(part)
            if integrations and (len(union) > MAX_KEYS or (len(integrations) + 1) * len(union) > MAX_PROBES):
                chunks.append((integrations, sorted(dedup_keys)))
                integrations, union = [], set(part)
            integrations.append(integration)
            dedup_keys = union
    if integrations:
        chunks.append((integrations, sorted(dedup_keys)))
    return chunks


def _parts(items: list[str], size: int) -> list[list[str]]:
    return [items[n : n + size] for n in range(0, len(items), size)]


def _read_open_alerts(session: Session, keys: set[DedupKey]) -> dict[DedupKey, OpenAlert]:
    found: dict[DedupKey, OpenAlert] = {}
    connection = session.connection()
    for integrations, dedup_keys in lookup_chunks(keys):
        rows = connection.execute(_OPEN_ALERTS, {"integrations": integrations, "keys": dedup_keys})
        for integration_id, dedup_key, alert_id, incident_id, status in rows:
            if (integration_id, dedup_key) in keys:  # a combination no event asked about is not one of its
                found[(integration_id, dedup_key)] = OpenAlert(alert_id, incident_id, status)
    return found


@dataclass
class PreparedBatch:
    """Everything a batch will write, worked out from reads alone (see ``prepare``)."""

    keys: set[DedupKey]
    open_alerts: dict[DedupKey, OpenAlert]
    writer: BatchWriter
    # Triggers held back by an open maintenance window (see tocsin.maintenance.rule).
    held: list[Any] = field(default_factory=list)


def prepare(session: Session, events: list[AlertEventIn], at: datetime) -> PreparedBatch:
    """Read and plan; build every row. Needs no write lock. ``at``: the batch's processing time."""
    keys = {(e.integration_id, e.dedup_key) for e in events}
    open_alerts = _open_alerts(session, keys)
    events, held = maintenance.hold_back_triggers(events, open_alerts)
    # The events domain validated each action (trigger, acknowledge or resolve).
    planned = [PlannedEvent(e.integration_id, cast(Action, e.action), e.dedup_key, new_id(), new_id()) for e in events]
    steps = plan(planned, open_alerts)
    # Events-made incidents are assigned as REST-made ones: level 1 of the service's policy,
    # whoever is on call now. A fixed number of statements for all of the batch's policies.
    policies = {
        e.service.get("escalation_policy_id") for e, s in zip(events, steps, strict=True) if s.outcome == "new_alert"
    }
    on_call = first_levels_sync(session, [p for p in policies if p], at)
    on_call_users = {u for level in on_call.values() for u in level.users}
    # SyncAsAsync answers the AsyncSession calls user_refs makes, on this sync session (tocsin.db.bridge).
    names = run_now(user_refs(SyncAsAsync(session), on_call_users))  # type: ignore[arg-type]  # a duck-typed adapter
    writer = BatchWriter(at, on_call, {u: facts.name for u, facts in names.items()})
    for event, step in zip(events, steps, strict=True):
        writer.apply(event, step)
    writer.decide_new()
    return PreparedBatch(keys, open_alerts, writer, held)


def still_valid(session: Session, prepared: PreparedBatch) -> bool:
    """True when the open alerts the plan was made from are unchanged (call under the write
    lock: the REST API may have acknowledged or resolved one since the plan was made)."""
    return _open_alerts(session, prepared.keys) == prepared.open_alerts


def write(session: Session, prepared: PreparedBatch) -> list[Record]:
    """Write the batch; return the transition records it made (also in ``recorded(session)``)."""
    records = prepared.writer.flush(session)
    maintenance.record_suppressed(session, prepared.held)
    return records


def apply_alert_events(session: Session, events: list[AlertEventIn], at: datetime) -> list[Record]:
    return write(session, prepare(session, events, at))
