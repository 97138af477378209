"""The one place incident state changes: a pure function from an incident snapshot and a command
to typed records of what changed (the vocabulary is in ``transition_records``).

Both the events processor (``incidents.ingest``, synchronous and batched) and the REST logic
(``incidents.logic``, ``incidents.alert_moves``) decide every change here and write it with
``incidents.transition_writer``. Log entries are made from the records by ``log_entry`` alone,
and the engine (paging, timers) and the webhooks outbox will consume the same records, so the
three can never disagree. A command that changes nothing yields no record (and so no log entry).

No I/O here: whoever is on call, a priority's name and so on are resolved by the caller first
and passed in the command.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from tocsin.incidents.transition_records import (
    Acknowledge,
    Acknowledged,
    Act,
    AddTrigger,
    AlertsMoved,
    Annotate,
    Annotated,
    Assigned,
    Command,
    ConferenceBridgeChanged,
    Delegate,
    Delegated,
    Escalate,
    Escalated,
    ExhaustPath,
    HandedOver,
    IncidentState,
    Merge,
    Merged,
    Notified,
    Notify,
    Open,
    PathExhausted,
    PathRepeated,
    PriorityChanged,
    Reassign,
    Reassigned,
    ReceiveAlerts,
    Record,
    Reopen,
    Reopened,
    RepeatPath,
    Resolve,
    Resolved,
    SetConferenceBridge,
    SetPriority,
    SetTitle,
    SetUrgency,
    Snooze,
    Snoozed,
    TitleChanged,
    Triggered,
    Unacknowledge,
    Unacknowledged,
    UrgencyChanged,
)

# --- deciding -------------------------------------------------------------------------------

def decide(state: IncidentState, command: Command, act: Act) -> list[Record]:
    """The records ``command`` yields on an incident in ``state``; [] when it changes nothing."""
    base: dict[str, Any] = {"incident_id": state.id, "at": act.at, "agent": act.agent, "channel": act.channel}
    say = act.summary
    resolved = state.status == "resolved"
    if isinstance(command, Open):
        records: list[Record] = [Triggered(**base, summary=say or "Triggered through the API.",
                                           alert_id=command.alert_id, opened=True)]
        if command.assignees is not None:
            channel = command.assign_channel or act.channel
            records.append(Assigned(**{**base, "channel": channel}, summary="", to_users=_unique(command.assignees)))
        return records
    if isinstance(command, AddTrigger):
        return [] if resolved else [Triggered(**base, summary=say or "Triggered through the API.",
                                              alert_id=command.alert_id, opened=False)]
    if isinstance(command, Acknowledge):
        if resolved or (command.only_if_triggered and state.status != "triggered"):
            return []
        return [Acknowledged(**base, summary=say or "Acknowledged through the API.",
                             acknowledger=command.acknowledger)]
    if isinstance(command, Unacknowledge):
        if state.status != "acknowledged":
            return []
        return [Unacknowledged(**base, summary=say or "Unacknowledged through the API.")]
    if isinstance(command, Resolve):
        return [] if resolved else [Resolved(**base, summary=say or "Resolved through the API.",
                                             alert_id=command.alert_id)]
    if isinstance(command, Merge):
        if resolved or command.into_id == state.id:
            return []
        return [Merged(**base, summary=say or "Resolved by merging into another incident.", into_id=command.into_id)]
    if isinstance(command, Reopen):
        if not resolved:
            return []
        records = [Reopened(**base, summary=say or "Reopened through the API.", policy_id=command.policy_id)]
        if command.assignees is not None:
            records.append(Assigned(**base, summary="", to_users=_unique(command.assignees)))
        return records
    if isinstance(command, SetUrgency):  # urgency, priority and notes change on resolved incidents too
        if command.urgency == state.urgency:
            return []
        return [UrgencyChanged(**base, summary=say or f"Urgency changed to {command.urgency}.",
                               urgency=command.urgency)]
    if isinstance(command, SetPriority):
        if command.priority_id == state.priority_id:
            return []
        return [PriorityChanged(**base, summary=say, from_id=state.priority_id, to_id=command.priority_id)]
    if isinstance(command, Annotate):
        return [Annotated(**base, summary=say)]
    if isinstance(command, Notify):  # a send's outcome is logged whatever the incident's state now
        return [Notified(**base, summary=say, user_id=command.user_id, notification_type=command.notification_type,
                         address=command.address, status=command.status)]
    if isinstance(command, SetTitle):
        if command.title == state.title:
            return []
        return [TitleChanged(**base, summary=say, from_title=state.title, to_title=command.title)]
    if isinstance(command, SetConferenceBridge):
        if command.bridge == state.conference_bridge:
            return []
        return [ConferenceBridgeChanged(**base, summary=say, from_bridge=state.conference_bridge,
                                        to_bridge=command.bridge)]
    return _decide_open_only(state, command, base, say)


def _decide_open_only(state: IncidentState, command: Command, base: dict[str, Any], say: str) -> list[Record]:
    """Commands that apply to an open incident only."""
    if state.status == "resolved":
        return []
    if isinstance(command, Reassign | Delegate | Escalate):
        users = _unique(command.users)
        retrigger = command.retrigger and state.status == "acknowledged"
        if isinstance(command, Reassign):
            if users == state.assignees and not retrigger:
                return []
            return [Reassigned(**base, summary="", from_users=state.assignees, to_users=users, retriggered=retrigger)]
        if isinstance(command, Delegate):
            if (command.policy_id, users) == (state.policy_id, state.assignees) and not retrigger:
                return []
            return [Delegated(**base, summary="", policy_id=command.policy_id, from_users=state.assignees,
                              to_users=users, retriggered=retrigger)]
        if (command.level, users) == (state.escalation_level, state.assignees) and not (retrigger or command.always):
            return []
        return [Escalated(**base, summary="", level=command.level, from_users=state.assignees, to_users=users,
                          retriggered=retrigger)]
    if isinstance(command, Snooze):
        if state.status != "acknowledged":
            return []
        return [Snoozed(**base, summary=say, until=command.until)]
    if isinstance(command, RepeatPath):
        return [PathRepeated(**base, summary=say or f"Repeating escalation path (loop {command.loop}).",
                             loop=command.loop)]
    if isinstance(command, ExhaustPath):
        return [PathExhausted(**base, summary=say or "Escalation path exhausted.")]
    if isinstance(command, ReceiveAlerts):
        if not command.alert_ids or command.from_incident_id == state.id:
            return []
        return [AlertsMoved(**base, summary=say, from_incident_id=command.from_incident_id,
                            alert_ids=command.alert_ids)]
    raise TypeError(f"not an incident command: {command!r}")


def _unique(users: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(users))


# --- applying -------------------------------------------------------------------------------

_STATE_FIELDS = tuple(f.name for f in fields(IncidentState))
_set = object.__setattr__


def replace(state: IncidentState, **changes: Any) -> IncidentState:
    """``dataclasses.replace`` for ``IncidentState``, three times faster (the event processor
    evolves a state per event on its hot path)."""
    new = object.__new__(IncidentState)
    for name in _STATE_FIELDS:
        _set(new, name, changes[name] if name in changes else getattr(state, name))
    return new


def evolve(state: IncidentState, record: Record) -> IncidentState:
    """``state`` after ``record``."""
    at = record.at
    status_change: dict[str, Any] = {"last_status_change_at": at, "last_status_change_by": record.agent,
                                     "updated_at": at}
    if isinstance(record, Triggered):
        unchanged = (state.status, state.last_status_change_at, state.last_status_change_by, state.updated_at) == (
            "triggered", at, record.agent, at)
        return state if unchanged or not record.opened else replace(state, status="triggered", **status_change)
    if isinstance(record, Reopened):
        return replace(state, status="triggered", resolved_at=None, acknowledgements=(), snoozed_until=None,
                       escalation_level=1, assignees=(), assigned_at=at, merged_into_id=None,
                       policy_id=record.policy_id or state.policy_id, **status_change)
    if isinstance(record, Acknowledged):
        ack = {"at": at.isoformat(), "acknowledger": record.acknowledger}
        return replace(state, status="acknowledged", acknowledgements=(*state.acknowledgements, ack), **status_change)
    if isinstance(record, Unacknowledged):
        return replace(state, status="triggered", acknowledgements=(), snoozed_until=None, **status_change)
    if isinstance(record, Resolved):
        merged = record.into_id if isinstance(record, Merged) else state.merged_into_id
        return replace(state, status="resolved", resolved_at=at, snoozed_until=None, assignees=(), assigned_at=at,
                       merged_into_id=merged, **status_change)
    if isinstance(record, Assigned):
        return replace(state, assignees=record.to_users, assigned_at=at, updated_at=at)
    if isinstance(record, HandedOver):
        moved = replace(state, assignees=record.to_users, assigned_at=at, updated_at=at)
        if isinstance(record, Delegated):
            moved = replace(moved, policy_id=record.policy_id, escalation_level=1)
        elif isinstance(record, Escalated):
            moved = replace(moved, escalation_level=record.level)
        if record.retriggered:
            moved = replace(moved, status="triggered", acknowledgements=(), snoozed_until=None, **status_change)
        return moved
    if isinstance(record, Snoozed):
        return replace(state, snoozed_until=record.until, updated_at=at)
    if isinstance(record, UrgencyChanged):
        return replace(state, urgency=record.urgency, updated_at=at)
    if isinstance(record, PriorityChanged):
        return replace(state, priority_id=record.to_id, updated_at=at)
    if isinstance(record, TitleChanged):
        return replace(state, title=record.to_title, description=record.to_title, updated_at=at)
    if isinstance(record, ConferenceBridgeChanged):
        return replace(state, conference_bridge=record.to_bridge, updated_at=at)
    if isinstance(record, AlertsMoved):
        return replace(state, updated_at=at)
    if isinstance(record, PathRepeated | PathExhausted):
        return replace(state, updated_at=at)  # where the path stands is the engine's (engine.models)
    assert isinstance(record, Annotated | Notified), record
    return state  # a note or a send changes nothing on the incident


def run(state: IncidentState, command: Command, act: Act) -> tuple[IncidentState, list[Record]]:
    """Decide and apply: the new state and the records that got there."""
    records = decide(state, command, act)
    for record in records:
        state = evolve(state, record)
    return state, records
