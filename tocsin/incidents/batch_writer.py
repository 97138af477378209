"""One batch of alert events, written as a few multi-row statements: the events processor's side
of the transition seam (``incidents.ingest`` plans the batch and hands each step here).

Commands on the incidents a batch opens are decided while planning (``decide_new``: nobody else
can see those incidents yet, so no write lock is needed); commands on existing incidents are
decided at ``flush``, under the write lock, on the locked rows. Every record gets its log entry
from ``transition_log`` as the REST writer's do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tocsin.db import sequences
from tocsin.db.base import table_of
from tocsin.db.bulk import insert_many
from tocsin.escalation.queries import LevelOnCall, store_round_robin_positions_sync
from tocsin.incidents.dedup import Step
from tocsin.incidents.models import INCIDENT_NUMBERS, Alert, Incident, IncidentAssignment, LogEntry
from tocsin.incidents.transition_log import log_entries, stamp_in_order
from tocsin.incidents.transition_records import (
    Acknowledge,
    Act,
    AddTrigger,
    Command,
    IncidentState,
    Open,
    Record,
    Resolve,
)
from tocsin.incidents.transition_writer import (
    assignment_rows,
    opened_rows,
    recorded,
    snapshot,
    state_columns,
)
from tocsin.incidents.transitions import run
from tocsin.services.urgency import urgency_for


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


# The assignment that follows an event's trigger is automatic (PagerDuty's channel type "auto");
# it does not repeat the event's details.
_AUTO = {"type": "auto"}
_RESOLVE_ALERT = "resolve-alert"  # a pending command: resolve the incident if no alert stays open
_INCIDENTS, _ALERTS = table_of(Incident), table_of(Alert)
_ASSIGNMENTS, _LOG_ENTRIES = table_of(IncidentAssignment), table_of(LogEntry)


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


class BatchWriter:
    """Collects the commands of one batch; decides those on new incidents while planning
    (``decide_new``) and those on existing ones at ``flush``, under the write lock, on the locked
    rows; then writes rows and changes together."""

    def __init__(self, at: datetime, on_call: dict[str, LevelOnCall], names: dict[str, str]) -> None:
        self.at = at
        self.on_call = on_call  # level 1 of each policy the batch opens incidents with
        self.names = names
        # Round-robin rules whose turns the batch took: rule id -> next position (stored at flush).
        self.turns: dict[str, int] = {}
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
        command = Open(alert_id, self._assignees(policy), assign_channel=_AUTO)
        self.commands.append((incident_id, command, self._act(event)))

    def _assignees(self, policy: str | None) -> tuple[str, ...] | None:
        """Level 1 of the policy: everyone on call, or (round robin) whose turn it is, one per
        incident of the batch in event order."""
        if not policy:
            return None
        level = self.on_call.get(policy) or LevelOnCall()
        if not level.takes_turns:
            return level.users
        assert level.rule_id is not None  # takes_turns
        users, self.turns[level.rule_id] = level.assignees(self.turns.get(level.rule_id))
        return users

    def _initial_state(self, row: dict[str, Any]) -> IncidentState:
        return IncidentState(id=row["id"], status="triggered", policy_id=row["escalation_policy_id"],
                             urgency=row["urgency"], updated_at=self.at, last_status_change_at=self.at,
                             last_status_change_by=_service_ref(row["service_id"]), title=row["title"],
                             description=row["description"])

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
        self.new_logs = log_entries(self.new_records, self.service_of.__getitem__, self.names)
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
        # Many-row inserts without SQLAlchemy's per-row parameter handling (tocsin.db.bulk): on
        # SQLite that handling cost more than the inserts themselves.
        if self.new_rows:
            insert_many(s, _INCIDENTS, self.new_rows)
            insert_many(s, _ALERTS, list(self.alerts.values()))
            self._announce_opened(session)
        insert_many(s, _ASSIGNMENTS, self.new_assignments)
        store_round_robin_positions_sync(s, self.turns)
        self._write_existing(s, existing, states, records)
        entries = log_entries(records, self.service_of.__getitem__, self.names)
        stamp_in_order(entries, session.info.setdefault("log_stamps", {}))
        insert_many(s, _LOG_ENTRIES, self.new_logs + entries)
        records = self.new_records + records
        recorded(session).extend(records)
        return records

    def _announce_opened(self, session: Session) -> None:
        """Leave the inserted incidents and their assignments in the session for the engine's
        planner (``transition_writer.opened_rows``)."""
        users: dict[str, list[tuple[str, datetime]]] = {}
        for a in self.new_assignments:
            users.setdefault(a["incident_id"], []).append((a["user_id"], a["at"]))
        opened = opened_rows(session)
        for row in self.new_rows:
            opened[row["id"]] = (row, users.get(row["id"], []))

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
                insert_many(s, _ASSIGNMENTS, flat)
        s.flush()
