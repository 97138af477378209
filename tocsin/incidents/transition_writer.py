"""Applies a transition to one incident in the caller's (async) transaction: the REST side.

``change`` snapshots the ORM incident, lets ``transitions.run`` decide, copies the new state back,
keeps ``incident_assignments`` and the alerts in step, and writes one log entry per record. The
event processor applies the same decisions in batches (``incidents.ingest``).

``record_without_change`` writes, set-based, records that change no incident state (a send's
outcome): their log entries only, in one statement, for any number of incidents.

Every record of a transaction is also collected in ``session.info["incident_records"]``
(``recorded(session)``): the engine and the webhooks outbox will read them there before commit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tocsin.db.base import table_of
from tocsin.db.bulk import insert_many, update_many
from tocsin.db.id_lists import one_of
from tocsin.escalation.queries import policy_refs
from tocsin.incidents.models import (
    Alert,
    Incident,
    IncidentAssignment,
    LogEntry,
    Priority,
)
from tocsin.incidents.transition_log import log_entries, stamp_in_order, users_named
from tocsin.incidents.transition_records import (
    Act,
    Command,
    Delegated,
    IncidentState,
    PriorityChanged,
    Record,
    Resolved,
)
from tocsin.incidents.transitions import evolve, run
from tocsin.users.queries import user_refs

API_CHANNEL: dict[str, Any] = {"type": "api"}
# PagerDuty's log entry channel for changes made in its web app (the web UI, an action link).
WEBSITE_CHANNEL: dict[str, Any] = {"type": "website"}


def api_act(agent: dict[str, Any], at: datetime, summary: str = "", via: dict[str, Any] | None = None) -> Act:
    """Who acts, when and how, for a change made through the REST API (``via``: another channel,
    e.g. the web UI's ``WEBSITE_CHANNEL``)."""
    return Act(at=at, agent=agent, channel=dict(via or API_CHANNEL), summary=summary)


def user_ref(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "type": "user_reference"}


def snapshot(incident: Incident) -> IncidentState:
    return IncidentState(
        id=incident.id, status=incident.status,
        assignees=tuple(a["assignee"]["id"] for a in incident.assignments or []),
        acknowledgements=tuple(incident.acknowledgements or []), escalation_level=incident.escalation_level or 1,
        policy_id=incident.escalation_policy_id, urgency=incident.urgency, priority_id=incident.priority_id,
        snoozed_until=incident.snoozed_until, resolved_at=incident.resolved_at,
        merged_into_id=incident.merged_into_id, updated_at=incident.updated_at,
        last_status_change_at=incident.last_status_change_at, last_status_change_by=incident.last_status_change_by,
        title=incident.title, description=incident.description, conference_bridge=incident.conference_bridge,
    )


def state_columns(state: IncidentState) -> dict[str, Any]:
    """The incident columns ``state`` decides (for an ORM object or a row to insert)."""
    columns: dict[str, Any] = {
        "status": state.status, "acknowledgements": list(state.acknowledgements),
        "escalation_level": state.escalation_level, "escalation_policy_id": state.policy_id,
        "urgency": state.urgency, "priority_id": state.priority_id, "snoozed_until": state.snoozed_until,
        "resolved_at": state.resolved_at, "merged_into_id": state.merged_into_id,
        "updated_at": state.updated_at, "last_status_change_at": state.last_status_change_at,
        "last_status_change_by": state.last_status_change_by, "title": state.title,
        "description": state.description, "conference_bridge": state.conference_bridge,
    }
    if state.assigned_at is not None:
        at = _iso(state.assigned_at)
        columns["assignments"] = [{"at": at, "assignee": user_ref(u)} for u in state.assignees]
    return columns


@functools.lru_cache(maxsize=16)
def _iso(at: datetime) -> str:
    return at.isoformat()  # a processor batch renders one instant for every incident it opens


def assignment_rows(state: IncidentState) -> list[dict[str, Any]]:
    return [{"incident_id": state.id, "user_id": u, "at": state.assigned_at} for u in state.assignees]


def recorded(session: AsyncSession | Session) -> list[Record]:
    """Every transition record written in this session's transaction so far, in order."""
    return session.info.setdefault("incident_records", [])


def opened_rows(session: AsyncSession | Session) -> dict[str, tuple[dict[str, Any], list[tuple[str, datetime]]]]:
    """Incidents this transaction inserted in bulk (the events processor's batches), final for
    the transaction: id -> (incident row, [(assignee, assigned at)]). The engine's planner reads
    them here rather than reading the rows back on the processor's hot path."""
    return session.info.setdefault("opened_incident_rows", {})


async def change(session: AsyncSession, incident: Incident, command: Command, act: Act) -> list[Record]:
    """Apply ``command`` to ``incident``; return what changed ([] when nothing did)."""
    state, records = run(snapshot(incident), command, act)
    if not records:
        return records
    for name, value in state_columns(state).items():
        setattr(incident, name, value)
    await session.flush()
    if state.assigned_at is not None:
        await session.execute(delete(IncidentAssignment).where(IncidentAssignment.incident_id == incident.id))
        if state.assignees:
            await session.execute(insert(IncidentAssignment), assignment_rows(state))
    if any(isinstance(r, Resolved) for r in records):
        # Resolving an incident resolves its alerts, which frees their dedup keys.
        await session.execute(
            update(Alert).where(Alert.incident_id == incident.id, Alert.status != "resolved")
            .values(status="resolved", resolved_at=act.at))
    await write_log_entries(session, incident.service_id, records)
    return records


async def change_many(
    session: AsyncSession, changes: Sequence[tuple[Incident, Sequence[Command], Act]],
) -> list[Record]:
    """``change`` for many incidents at once (an engine batch), each incident's commands applied
    in order: the same decisions and log entries, written with a fixed number of statements
    (one flush of the incidents, multi-row assignment and log entry writes). Returns every
    record, incident by incident."""
    decided: list[tuple[IncidentState, str, Act]] = []
    records: list[Record] = []
    for incident, commands, act in changes:
        state, made = _decide(snapshot(incident), commands, act)
        if made:
            for name, value in state_columns(state).items():
                setattr(incident, name, value)
            decided.append((state, incident.service_id, act))
            records.extend(made)
    if records:
        await session.flush()
        await _write_decided(session, decided, records)
    return records


_INCIDENTS, _ASSIGNMENTS, _LOG_ENTRIES = table_of(Incident), table_of(IncidentAssignment), table_of(LogEntry)

# The incident columns a claimed row carries: what ``state_of_row`` reads, and the service.
STATE_COLUMNS = ("id", "status", "assignments", "acknowledgements", "escalation_level", "escalation_policy_id",
                 "urgency", "priority_id", "snoozed_until", "resolved_at", "merged_into_id", "updated_at",
                 "last_status_change_at", "last_status_change_by", "title", "description", "conference_bridge",
                 "service_id")


def state_of_row(row: Any) -> IncidentState:
    """``snapshot`` of an incident read as a row of ``STATE_COLUMNS`` (no ORM object)."""
    return IncidentState(
        id=row.id, status=row.status, assignees=tuple(a["assignee"]["id"] for a in row.assignments or []),
        acknowledgements=tuple(row.acknowledgements or []), escalation_level=row.escalation_level or 1,
        policy_id=row.escalation_policy_id, urgency=row.urgency, priority_id=row.priority_id,
        snoozed_until=row.snoozed_until, resolved_at=row.resolved_at, merged_into_id=row.merged_into_id,
        updated_at=row.updated_at, last_status_change_at=row.last_status_change_at,
        last_status_change_by=row.last_status_change_by, title=row.title, description=row.description,
        conference_bridge=row.conference_bridge,
    )


async def change_rows(
    session: AsyncSession, changes: Sequence[tuple[IncidentState, str, Sequence[Command], Act]],
) -> list[Record]:
    """``change_many`` for incidents read as rows (state, service id): no ORM object is loaded or
    flushed; the incidents' changed columns are written by one executemany UPDATE per set of
    changed columns (an escalation batch: one). The caller holds the incidents' row locks."""
    decided: list[tuple[IncidentState, str, Act]] = []
    records: list[Record] = []
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for before, service_id, commands, act in changes:
        state, made = _decide(before, commands, act)
        if not made:
            continue
        decided.append((state, service_id, act))
        records.extend(made)
        old = state_columns(before)
        changed = {k: v for k, v in state_columns(state).items() if k not in old or old[k] != v}
        if changed:
            changed["id"] = state.id
            updates.setdefault(tuple(changed), []).append(changed)
    for rows in updates.values():
        await session.run_sync(update_many, _INCIDENTS, "id", rows)
    if records:
        await _write_decided(session, decided, records)
    return records


def _decide(state: IncidentState, commands: Sequence[Command], act: Act) -> tuple[IncidentState, list[Record]]:
    made: list[Record] = []
    for command in commands:
        state, step = run(state, command, act)
        made.extend(step)
    return state, made


async def _write_decided(session: AsyncSession, decided: list[tuple[IncidentState, str, Act]],
                         records: list[Record]) -> None:
    """What follows the incident rows of decided changes: assignments, alerts, log entries."""
    reassigned = [state for state, _, _ in decided if state.assigned_at is not None]
    if reassigned:
        await session.execute(delete(IncidentAssignment)
                              .where(one_of(IncidentAssignment.incident_id, sorted(s.id for s in reassigned))))
        if rows := [row for state in reassigned for row in assignment_rows(state)]:
            await session.run_sync(insert_many, _ASSIGNMENTS, rows)
    resolved = {r.incident_id for r in records if isinstance(r, Resolved)}
    by_instant: dict[datetime, list[str]] = {}
    for state, _, act in decided:
        if state.id in resolved:
            by_instant.setdefault(act.at, []).append(state.id)
    for at, ids in by_instant.items():  # resolving an incident resolves its alerts (as ``change``)
        await session.execute(update(Alert).where(one_of(Alert.incident_id, ids), Alert.status != "resolved")
                              .values(status="resolved", resolved_at=at))
    service_of = {state.id: service_id for state, service_id, _ in decided}
    await _write_log_rows(session, service_of, records)


async def _write_log_rows(session: AsyncSession, service_of: dict[str, str], records: list[Record]) -> None:
    """``write_log_entries`` for many incidents' records: one multi-row INSERT."""
    entries = log_entries(records, service_of.__getitem__, *await _labels(session, records))
    stamp_in_order(entries, session.info.setdefault("log_stamps", {}))
    await session.run_sync(insert_many, _LOG_ENTRIES, entries)
    recorded(session).extend(records)


async def _labels(session: AsyncSession, records: list[Record]) -> tuple[dict[str, str], dict[str, str]]:
    """The user names and policy / priority names the summaries of ``records`` show."""
    names = {u: facts.name for u, facts in (await user_refs(session, users_named(records))).items()}
    labels = await policy_refs(session, [r.policy_id for r in records if isinstance(r, Delegated)])
    priority_ids = [r.to_id for r in records if isinstance(r, PriorityChanged) and r.to_id]
    if priority_ids:
        rows = await session.execute(select(Priority.id, Priority.name).where(Priority.id.in_(priority_ids)))
        labels.update(rows.all())
    return names, labels


async def write_log_entries(session: AsyncSession, service_id: str, records: list[Record]) -> None:
    names, labels = await _labels(session, records)
    entries = log_entries(records, lambda _: service_id, names, labels)
    stamp_in_order(entries, session.info.setdefault("log_stamps", {}))
    session.add_all([LogEntry(**row) for row in entries])
    recorded(session).extend(records)


async def record_without_change(session: AsyncSession, service_of: Callable[[str], str],
                                records: Sequence[Record]) -> None:
    """Log ``records`` (of any number of incidents) that change no incident state, e.g. the
    ``Notified`` outcomes of a batch of sends: one query for the users they name, one multi-row
    insert of their log entries (stamped in order, as ``change`` stamps them), and the records
    joined to ``recorded(session)``. No incident row is read or written. ``service_of``: an
    incident's service id. ``ValueError`` for a record that would change its incident."""
    for record in records:
        probe = IncidentState(id=record.incident_id, status="triggered")
        if evolve(probe, record) is not probe:
            raise ValueError(f"{type(record).__name__} changes its incident: write it with change()")
    if not records:
        return
    listed = list(records)
    names = {u: facts.name for u, facts in (await user_refs(session, users_named(listed))).items()}
    entries = log_entries(listed, service_of, names)
    stamp_in_order(entries, session.info.setdefault("log_stamps", {}))
    await session.run_sync(insert_many, _LOG_ENTRIES, entries)
    recorded(session).extend(listed)
