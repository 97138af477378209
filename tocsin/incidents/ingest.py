"""Apply alert events to alerts and incidents, in the caller's transaction.

Synchronous on purpose: on SQLite the processor runs it in a worker thread on its own
connection so the write lock is never held across event-loop turns; on PostgreSQL it runs
inside ``AsyncSession.run_sync``.

Loads the open alerts the batch can touch, asks ``dedup.plan`` what each event does, turns each
step into an incident command decided by ``transitions`` (the same seam the REST API uses), and
writes the result with a handful of multi-row statements per batch rather than several per event.

Times: every incident change and log entry of a batch is dated by the batch's processing time
(the runtime clock read once per batch, as maintenance windows are judged); the alert keeps when
its event was received.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from tocsin.db import sequences
from tocsin.db.base import table_of
from tocsin.db.bridge import SyncAsAsync, run_now
from tocsin.escalation.queries import first_level_on_call_sync
from tocsin.ids import new_id
from tocsin.incidents.dedup import Action, DedupKey, OpenAlert, PlannedEvent, Step, plan
from tocsin.incidents.models import Alert, Incident, IncidentAssignment, LogEntry
from tocsin.incidents.transition_log import log_entry, stamp_in_order
from tocsin.incidents.transition_writer import (
    assignment_rows,
    recorded,
    snapshot,
    state_columns,
)
from tocsin.incidents.transitions import (
    Acknowledge,
    Act,
    AddTrigger,
    Command,
    IncidentState,
    Open,
    Record,
    Resolve,
    run,
)
from tocsin.maintenance import queries as maintenance
from tocsin.services.urgency import urgency_for
from tocsin.users.queries import user_refs

log = logging.getLogger(__name__)
INCIDENT_NUMBERS = "incident_number"


@dataclass(slots=True)
class AlertEventIn:
    """An accepted alert event, as the events domain hands it over."""

    integration_id: str
    integration_type: str
    service: dict[str, Any]  # id, incident_urgency_rule, support_hours, escalation_policy_id
    action: str
    dedup_key: str
    received_at: datetime
    summary: str | None = None
    severity: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def _service_ref(service_id: str) -> dict[str, Any]:
    return {"id": service_id, "type": "service_reference"}


def _agent(event: AlertEventIn) -> dict[str, Any]:
    # An event acts as its service (PagerDuty's agent and acknowledger types allow a service
    # reference, not an integration type's).
    return _service_ref(event.service["id"])


def _channel(event: AlertEventIn) -> dict[str, Any]:
    return {"type": "api", "summary": event.summary or event.action, "details": event.payload.get("custom_details")}


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
    writer: _BatchWriter
    # Triggers held back by an open maintenance window (see tocsin.maintenance.rule).
    held: list[Any] = field(default_factory=list)


def without_disabled_services(events: list[AlertEventIn]) -> list[AlertEventIn]:
    """A disabled service's integrations are switched off (PagerDuty): its events were accepted
    (202) and are dropped here with a log line: no alert, no incident, no change to open ones."""
    kept = []
    for event in events:
        if event.service.get("status") == "disabled":
            log.info("dropping a %s event for dedup key %r: service %s is disabled",
                     event.action, event.dedup_key, event.service["id"])
        else:
            kept.append(event)
    return kept


def prepare(session: Session, events: list[AlertEventIn], at: datetime) -> PreparedBatch:
    """Read and plan; build every row. Needs no write lock. ``at``: the batch's processing time."""
    events = without_disabled_services(events)
    keys = {(e.integration_id, e.dedup_key) for e in events}
    open_alerts = _open_alerts(session, keys)
    events, held = maintenance.hold_back_triggers(events, open_alerts)
    # The events domain validated each action (trigger, acknowledge or resolve).
    planned = [PlannedEvent(e.integration_id, cast(Action, e.action), e.dedup_key, new_id(), new_id()) for e in events]
    steps = plan(planned, open_alerts)
    # Events-made incidents are assigned as REST-made ones: level 1 of the service's policy,
    # whoever is on call now; each policy rendered once per batch.
    policies = {
        e.service.get("escalation_policy_id") for e, s in zip(events, steps, strict=True) if s.outcome == "new_alert"
    }
    on_call = first_level_on_call_sync(session, [p for p in policies if p], at)
    on_call_users = {u for users in on_call.values() for u in users}
    # SyncAsAsync answers the AsyncSession calls user_refs makes, on this sync session (tocsin.db.bridge).
    names = run_now(user_refs(SyncAsAsync(session), on_call_users))  # type: ignore[arg-type]  # a duck-typed adapter
    writer = _BatchWriter(at, on_call, {u: facts.name for u, facts in names.items()})
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


# The assignment that follows an event's trigger is automatic (PagerDuty's channel type "auto");
# it does not repeat the event's details.
_AUTO = {"type": "auto"}
_RESOLVE_ALERT = "resolve-alert"  # a pending command: resolve the incident if no alert stays open


def _decide(
    commands: list[tuple[str, Command | tuple[str, str], Act]], states: dict[str, IncidentState], still_open: set[str],
) -> list[Record]:
    """Run ``commands`` in event order on ``states`` (changed in place); the records they made.
    A resolve event resolves its incident only as the batch's last resolve of it, and only if no
    alert of it stays open: otherwise the alert resolved and the incident did not (no entry)."""
    last_resolve = {i: n for n, (i, c, _) in enumerate(commands) if isinstance(c, tuple)}
    records: list[Record] = []
    for n, (incident_id, command, act) in enumerate(commands):
        if incident_id not in states:
            continue  # deleted meanwhile
        if isinstance(command, tuple):
            if last_resolve[incident_id] != n or incident_id in still_open:
                continue
            command = Resolve(command[1])
        states[incident_id], made = run(states[incident_id], command, act)
        records.extend(made)
    return records


class _BatchWriter:
    """Collects the commands of one batch; decides those on new incidents while planning
    (``decide_new``) and those on existing ones at ``flush``, under the write lock, on the locked
    rows; then writes rows and changes together."""

    def __init__(self, at: datetime, on_call: dict[str, list[str]], names: dict[str, str]) -> None:
        self.at = at
        self.on_call = on_call
        self.names = names
        # New rows are written with their final state, so nothing inserted here is updated
        # later and a resolve-then-retrigger of one key never has two open alerts at once.
        self.new_incidents: dict[str, dict[str, Any]] = {}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.resolved_alerts: list[str] = []
        self.service_of: dict[str, str] = {}
        # (incident id, command, act) in event order; decided in ``decide_new`` and ``flush``.
        self.commands: list[tuple[str, Command | tuple[str, str], Act]] = []
        self.new_records: list[Record] = []
        self.new_rows: list[dict[str, Any]] = []
        self.new_assignments: list[dict[str, Any]] = []
        self.new_logs: list[dict[str, Any]] = []

    def _act(self, event: AlertEventIn) -> Act:
        return Act(self.at, _agent(event), _channel(event))

    def apply(self, event: AlertEventIn, step: Step) -> None:
        if step.outcome == "ignore":
            return
        assert step.incident_id is not None and step.alert_id is not None  # every other outcome names both
        incident_id, alert_id = step.incident_id, step.alert_id
        self.service_of[incident_id] = event.service["id"]
        if step.outcome == "new_alert":
            self._open(event, incident_id, alert_id)
        elif step.outcome == "add_trigger":
            self.commands.append((incident_id, AddTrigger(alert_id), self._act(event)))
        elif step.outcome == "acknowledge":
            command = Acknowledge(_agent(event), only_if_triggered=True)
            self.commands.append((incident_id, command, self._act(event)))
        elif step.outcome == "resolve":
            alert = self.alerts.get(alert_id)
            if alert is None:
                self.resolved_alerts.append(alert_id)
            else:
                alert.update(status="resolved", resolved_at=self.at)
            self.commands.append((incident_id, (_RESOLVE_ALERT, alert_id), self._act(event)))

    def _open(self, event: AlertEventIn, incident_id: str, alert_id: str) -> None:
        service = event.service
        policy = service.get("escalation_policy_id")
        urgency = urgency_for(service["incident_urgency_rule"], event.severity, self.at, service.get("support_hours"))
        self.new_incidents[incident_id] = {
            "id": incident_id, "number": None, "title": event.summary or event.dedup_key,
            "description": event.summary, "urgency": urgency, "service_id": service["id"],
            "incident_key": event.dedup_key, "escalation_policy_id": policy, "created_at": self.at,
        }
        self.alerts[alert_id] = {
            "id": alert_id, "incident_id": incident_id, "integration_id": event.integration_id,
            "service_id": service["id"], "dedup_key": event.dedup_key, "status": "triggered",
            "severity": event.severity or "error", "summary": event.summary or event.dedup_key,
            "body": event.payload, "created_at": event.received_at, "resolved_at": None,
        }
        assignees = tuple(self.on_call.get(policy, ())) if policy else None
        command = Open(alert_id, assignees, assign_channel=_AUTO)
        self.commands.append((incident_id, command, self._act(event)))

    def _initial_state(self, row: dict[str, Any]) -> IncidentState:
        return IncidentState(id=row["id"], status="triggered", policy_id=row["escalation_policy_id"],
                             urgency=row["urgency"], updated_at=self.at, last_status_change_at=self.at,
                             last_status_change_by=_service_ref(row["service_id"]))

    def decide_new(self) -> None:
        """Decide and build everything about the incidents this batch opens, from reads alone:
        nobody else can see them yet, so this needs no write lock (SQLite holds it only for
        ``flush``)."""
        states = {i: self._initial_state(r) for i, r in self.new_incidents.items()}
        mine = [c for c in self.commands if c[0] in states]
        self.commands = [c for c in self.commands if c[0] not in states]
        # A new incident has one alert, so its last resolve in the batch resolves it.
        self.new_records = _decide(mine, states, still_open=set())
        self.new_rows = [{**row, "priority_id": None, "assignments": [], **state_columns(states[i])}
                         for i, row in self.new_incidents.items()]
        self.new_assignments = [r for state in states.values() for r in assignment_rows(state)]
        self.new_logs = [log_entry(r, self.service_of[r.incident_id], self.names) for r in self.new_records]
        stamp_in_order(self.new_logs, {})

    def flush(self, session: Session) -> list[Record]:
        s = session
        numbers = sequences.take_sync(s, INCIDENT_NUMBERS, len(self.new_rows)) if self.new_rows else range(0)
        for row, number in zip(self.new_rows, numbers, strict=True):
            row["number"] = number
        if self.resolved_alerts:
            s.execute(update(Alert).where(Alert.id.in_(self.resolved_alerts))
                      .values(status="resolved", resolved_at=self.at))
        existing = self._load_existing(s)
        states = {i: snapshot(o) for i, o in existing.items()}
        resolving = sorted({i for i, c, _ in self.commands if isinstance(c, tuple)})
        # An incident resolves with its last open alert (a merged one has several).
        still_open = set(s.execute(
            select(Alert.incident_id).where(Alert.incident_id.in_(resolving), Alert.status != "resolved")
        ).scalars()) if resolving else set()
        records = _decide(self.commands, states, still_open)
        if self.new_rows:
            s.execute(insert(table_of(Incident)), self.new_rows)
            s.execute(insert(table_of(Alert)), list(self.alerts.values()))
        if self.new_assignments:
            s.execute(insert(table_of(IncidentAssignment)), self.new_assignments)
        self._write_existing(s, existing, states, records)
        entries = [log_entry(r, self.service_of[r.incident_id], self.names) for r in records]
        stamp_in_order(entries, session.info.setdefault("log_stamps", {}))
        if entries or self.new_logs:
            s.execute(insert(table_of(LogEntry)), self.new_logs + entries)
        records = self.new_records + records
        recorded(session).extend(records)
        return records

    def _load_existing(self, s: Session) -> dict[str, Incident]:
        ids = sorted({i for i, _, _ in self.commands})
        if not ids:
            return {}
        rows = s.execute(select(Incident).where(Incident.id.in_(ids)).order_by(Incident.id).with_for_update())
        return {incident.id: incident for incident in rows.scalars()}

    def _write_existing(self, s: Session, existing: dict[str, Incident], states: dict[str, IncidentState],
                        records: list[Record]) -> None:
        changed = {r.incident_id for r in records} & set(existing)
        for incident_id in changed:
            state = states[incident_id]
            for name, value in state_columns(state).items():
                setattr(existing[incident_id], name, value)
        reassigned = sorted(i for i in changed if states[i].assigned_at is not None)
        if reassigned:
            s.execute(delete(IncidentAssignment).where(IncidentAssignment.incident_id.in_(reassigned)))
            if flat := [r for i in reassigned for r in assignment_rows(states[i])]:
                s.execute(insert(table_of(IncidentAssignment)), flat)
        s.flush()
