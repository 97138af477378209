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

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from tocsin.db.bridge import SyncAsAsync, run_now
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


def _read_open_alerts(session: Session, keys: set[DedupKey]) -> dict[DedupKey, OpenAlert]:
    found: dict[DedupKey, OpenAlert] = {}
    key_list = list(keys)
    for start in range(0, len(key_list), 400):  # bounded IN lists
        chunk = key_list[start : start + 400]
        rows = session.execute(
            select(Alert.integration_id, Alert.dedup_key, Alert.id, Alert.incident_id, Incident.status)
            .join(Incident, Incident.id == Alert.incident_id)
            .where(Alert.status != "resolved", tuple_(Alert.integration_id, Alert.dedup_key).in_(chunk))
        )
        for integration_id, dedup_key, alert_id, incident_id, status in rows:
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
