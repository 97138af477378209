"""Apply alert events to alerts and incidents, in the caller's transaction.

Synchronous on purpose: on SQLite the processor runs it in a worker thread on its own
connection so the write lock is never held across event-loop turns; on PostgreSQL it runs
inside ``AsyncSession.run_sync``.

Loads the open alerts the batch can touch, asks ``dedup.plan`` what each event does, and writes
the result with a handful of multi-row statements per batch rather than several per event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.orm import Session

from tocsin.db import sequences
from tocsin.ids import new_id
from tocsin.incidents.dedup import DedupKey, OpenAlert, PlannedEvent, Step, plan
from tocsin.incidents.models import Alert, Incident, LogEntry
from tocsin.maintenance import queries as maintenance
from tocsin.services.urgency import urgency_for

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


def _agent(event: AlertEventIn) -> dict[str, Any]:
    return {"id": event.integration_id, "type": f"{event.integration_type}_reference"}


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


def prepare(session: Session, events: list[AlertEventIn]) -> PreparedBatch:
    """Read and plan; build every row. Needs no write lock."""
    keys = {(e.integration_id, e.dedup_key) for e in events}
    open_alerts = _open_alerts(session, keys)
    events, held = maintenance.hold_back_triggers(events, open_alerts)
    planned = [PlannedEvent(e.integration_id, e.action, e.dedup_key, new_id(), new_id()) for e in events]  # type: ignore[arg-type]
    writer = _BatchWriter()
    for event, step in zip(events, plan(planned, open_alerts)):
        writer.apply(event, step)
    return PreparedBatch(keys, open_alerts, writer, held)


def still_valid(session: Session, prepared: PreparedBatch) -> bool:
    """True when the open alerts the plan was made from are unchanged (call under the write
    lock: the REST API may have acknowledged or resolved one since the plan was made)."""
    return _open_alerts(session, prepared.keys) == prepared.open_alerts


def write(session: Session, prepared: PreparedBatch) -> None:
    prepared.writer.flush(session)
    maintenance.record_suppressed(session, prepared.held)


def apply_alert_events(session: Session, events: list[AlertEventIn]) -> None:
    write(session, prepare(session, events))


class _BatchWriter:
    """Collects the rows and changes of one batch, then writes them together."""

    def __init__(self) -> None:
        # New rows are written with their final state, so nothing inserted here is updated
        # later and a resolve-then-retrigger of one key never has two open alerts at once.
        self.incidents: dict[str, dict[str, Any]] = {}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.logs: list[dict[str, Any]] = []
        self.acks: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.resolved_alerts: dict[str, datetime] = {}
        self.resolved_incidents: dict[str, tuple[datetime, dict[str, Any]]] = {}

    def log(self, type_: str, event: AlertEventIn, incident_id: str, alert_id: str | None, summary: str) -> None:
        self.logs.append({
            "id": new_id(), "type": type_, "incident_id": incident_id, "alert_id": alert_id,
            "service_id": event.service["id"], "created_at": event.received_at, "summary": summary,
            "agent": _agent(event), "channel": _channel(event),
        })

    def apply(self, event: AlertEventIn, step: Step) -> None:
        assert step.incident_id is not None or step.outcome == "ignore"
        if step.outcome == "new_alert":
            self._open(event, step)
        elif step.outcome == "add_trigger":
            self.log("trigger_log_entry", event, step.incident_id, step.alert_id, "Triggered through the API.")  # type: ignore[arg-type]
        elif step.outcome == "acknowledge":
            self._acknowledge(event, step.incident_id)  # type: ignore[arg-type]
            self.log("acknowledge_log_entry", event, step.incident_id, step.alert_id, "Acknowledged through the API.")  # type: ignore[arg-type]
        elif step.outcome == "resolve":
            self._resolve(event, step.alert_id, step.incident_id)  # type: ignore[arg-type]
            self.log("resolve_log_entry", event, step.incident_id, step.alert_id, "Resolved through the API.")  # type: ignore[arg-type]

    def _acknowledge(self, event: AlertEventIn, incident_id: str) -> None:
        ack = {"at": event.received_at.isoformat(), "acknowledger": _agent(event)}
        row = self.incidents.get(incident_id)
        if row is None:
            self.acks[incident_id].append(ack)
            return
        row["acknowledgements"] = [*row["acknowledgements"], ack]
        row.update(status="acknowledged", updated_at=event.received_at,
                   last_status_change_at=event.received_at, last_status_change_by=_agent(event))

    def _resolve(self, event: AlertEventIn, alert_id: str, incident_id: str) -> None:
        at = event.received_at
        alert = self.alerts.get(alert_id)
        if alert is None:
            self.resolved_alerts[alert_id] = at
        else:
            alert.update(status="resolved", resolved_at=at)
        row = self.incidents.get(incident_id)
        if row is None:
            self.resolved_incidents[incident_id] = (at, _agent(event))
            self.acks.pop(incident_id, None)
            return
        # One alert per incident for now, so resolving the alert resolves its incident.
        row.update(status="resolved", resolved_at=at, updated_at=at, last_status_change_at=at,
                   last_status_change_by=_agent(event), assignments=[])

    def _open(self, event: AlertEventIn, step: Step) -> None:
        service = event.service
        at = event.received_at
        urgency = urgency_for(service["incident_urgency_rule"], event.severity, at, service.get("support_hours"))
        self.incidents[step.incident_id] = {  # type: ignore[index]
            "id": step.incident_id, "number": None, "title": event.summary or event.dedup_key,
            "description": event.summary, "status": "triggered", "urgency": urgency,
            "service_id": service["id"], "incident_key": event.dedup_key,
            # Assigning the policy's on-call users needs the escalation queries (async) on the hot
            # path; the engine (next issue) assigns and pages right after the trigger instead.
            "escalation_policy_id": service.get("escalation_policy_id"), "priority_id": None,
            "acknowledgements": [], "assignments": [], "created_at": at, "updated_at": at,
            "last_status_change_at": at,
            "last_status_change_by": {"id": service["id"], "type": "service_reference"},
            "resolved_at": None,
        }
        self.alerts[step.alert_id] = {  # type: ignore[index]
            "id": step.alert_id, "incident_id": step.incident_id, "integration_id": event.integration_id,
            "service_id": service["id"], "dedup_key": event.dedup_key, "status": "triggered",
            "severity": event.severity or "error", "summary": event.summary or event.dedup_key,
            "body": event.payload, "created_at": at, "resolved_at": None,
        }
        self.log("trigger_log_entry", event, step.incident_id, step.alert_id, "Triggered through the API.")  # type: ignore[arg-type]

    def flush(self, session: Session) -> None:
        self.session = s = session
        numbers = sequences.take_sync(s, INCIDENT_NUMBERS, len(self.incidents)) if self.incidents else range(0)
        for row, number in zip(self.incidents.values(), numbers):
            row["number"] = number
        self._resolve_existing_alerts()
        if self.incidents:
            s.execute(insert(Incident.__table__), list(self.incidents.values()))
            s.execute(insert(Alert.__table__), list(self.alerts.values()))
        self._apply_acks()
        self._resolve_existing_incidents()
        if self.logs:
            s.execute(insert(LogEntry.__table__), self.logs)

    def _apply_acks(self) -> None:
        if not self.acks:
            return
        rows = (self.session.execute(select(Incident).where(Incident.id.in_(list(self.acks))).with_for_update())).scalars()
        for incident in rows:
            new = self.acks[incident.id]
            if incident.status == "resolved":
                continue
            incident.acknowledgements = [*incident.acknowledgements, *new]
            at = datetime.fromisoformat(new[-1]["at"])
            incident.status = "acknowledged"
            incident.updated_at = incident.last_status_change_at = at
            incident.last_status_change_by = new[-1]["acknowledger"]
        self.session.flush()

    def _resolve_existing_alerts(self) -> None:
        for alert_id, at in self.resolved_alerts.items():
            self.session.execute(update(Alert).where(Alert.id == alert_id).values(status="resolved", resolved_at=at))

    def _resolve_existing_incidents(self) -> None:
        if not self.resolved_incidents:
            return
        ids = list(self.resolved_incidents)
        # A merged incident has several alerts: it resolves only with its last open one.
        still_open = set(self.session.execute(
            select(Alert.incident_id).where(Alert.incident_id.in_(ids), Alert.status != "resolved")
        ).scalars())
        rows = (self.session.execute(select(Incident).where(Incident.id.in_(ids)).with_for_update())).scalars()
        for incident in rows:
            if incident.id in still_open:
                continue
            at, agent = self.resolved_incidents[incident.id]
            incident.status = "resolved"
            incident.resolved_at = incident.updated_at = incident.last_status_change_at = at
            incident.last_status_change_by = agent
            incident.assignments = []
            incident.snoozed_until = None
        self.session.flush()
