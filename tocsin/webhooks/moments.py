"""The incident as it stood after each of a transaction's changes (pure: no I/O).

The outbox runs just before the transaction commits and reads the incident as the transaction
leaves it. When one transaction holds several changes of one incident (an events batch that
triggers and resolves one key, a PUT that acknowledges and reprioritises), each event must still
show the incident as it was right after its own change: ``incident.triggered`` with status
triggered, not the resolved status of the commit. The records carry what changed (and, for
reassignments, priorities, titles and bridges, what it was before), so the fields they decide are
replayed forward from the state before the first of them:

- status: each record that sets it (trigger, acknowledge, unacknowledge, resolve, reopen, a
  handover that re-triggers); before the first, what that record implies it was (an acknowledge
  or resolve is taken to follow triggered);
- assignees, priority, urgency, title, conference bridge, merged into: from the records' own
  before and after values.

A field no record of the transaction touched is the committed value, which is then exact. An
incident's first assignment is part of its opening (one command makes both records), so a
trigger or reopen shows the assignees that assignment gave.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from tocsin.incidents.transition_records import (
    Acknowledged,
    Assigned,
    ConferenceBridgeChanged,
    HandedOver,
    Merged,
    PriorityChanged,
    Record,
    Reopened,
    Resolved,
    TitleChanged,
    Triggered,
    Unacknowledged,
    UrgencyChanged,
)


@dataclass(frozen=True, slots=True)
class Moment:
    status: str
    assignees: tuple[str, ...]
    priority_id: str | None
    urgency: str
    title: str
    conference_bridge: dict[str, Any] | None
    merged_into_id: str | None


_FIELDS = tuple(f.name for f in fields(Moment))
_set = object.__setattr__


def replace(state: Moment, **changes: Any) -> Moment:
    """``dataclasses.replace`` for ``Moment``, several times faster (the outbox replays every
    incident of an events-processor batch)."""
    new = object.__new__(Moment)
    for name in _FIELDS:
        _set(new, name, changes[name] if name in changes else getattr(state, name))
    return new


def _status_before(record: Record) -> str | None:
    """What the status was just before ``record``, as far as the record tells; None: it does
    not set the status."""
    if isinstance(record, Reopened):
        return "resolved"
    if isinstance(record, Unacknowledged):
        return "acknowledged"
    if isinstance(record, HandedOver):
        return "acknowledged" if record.retriggered else None
    if isinstance(record, Triggered):
        return "triggered" if record.opened else None
    if isinstance(record, Acknowledged | Resolved):
        return "triggered"
    return None


def _before(final: Moment, records: Sequence[Record]) -> Moment:
    """The state before the first record: each field as the first record touching it says it was."""
    found: dict[str, Any] = {}
    for record in records:
        status = _status_before(record)
        if status is not None:
            found.setdefault("status", status)
        if isinstance(record, Assigned | Reopened):
            found.setdefault("assignees", ())
        elif isinstance(record, HandedOver):
            found.setdefault("assignees", record.from_users)
        elif isinstance(record, PriorityChanged):
            found.setdefault("priority_id", record.from_id)
        elif isinstance(record, UrgencyChanged):
            found.setdefault("urgency", "low" if record.urgency == "high" else "high")
        elif isinstance(record, TitleChanged):
            found.setdefault("title", record.from_title)
        elif isinstance(record, ConferenceBridgeChanged):
            found.setdefault("conference_bridge", record.from_bridge)
        if isinstance(record, Merged):
            found.setdefault("merged_into_id", None)
    return replace(final, **found)


def _after(state: Moment, record: Record) -> Moment:
    if isinstance(record, Triggered):
        return replace(state, status="triggered") if record.opened else state
    if isinstance(record, Reopened):
        return replace(state, status="triggered", assignees=(), merged_into_id=None)
    if isinstance(record, Acknowledged):
        return replace(state, status="acknowledged")
    if isinstance(record, Unacknowledged):
        return replace(state, status="triggered")
    if isinstance(record, Resolved):
        merged = record.into_id if isinstance(record, Merged) else state.merged_into_id
        return replace(state, status="resolved", assignees=(), merged_into_id=merged)
    if isinstance(record, Assigned):
        return replace(state, assignees=record.to_users)
    if isinstance(record, HandedOver):
        moved = replace(state, assignees=record.to_users)
        return replace(moved, status="triggered") if record.retriggered else moved
    if isinstance(record, PriorityChanged):
        return replace(state, priority_id=record.to_id)
    if isinstance(record, UrgencyChanged):
        return replace(state, urgency=record.urgency)
    if isinstance(record, TitleChanged):
        return replace(state, title=record.to_title)
    if isinstance(record, ConferenceBridgeChanged):
        return replace(state, conference_bridge=record.to_bridge)
    return state


def moments(final: Moment, records: Sequence[Record]) -> list[Moment]:
    """The incident after each of ``records`` (one incident's, in order); the last is ``final``
    wherever the records decide a field."""
    state = _before(final, records)
    found: list[Moment] = []
    for i, record in enumerate(records):
        state = _after(state, record)
        if isinstance(record, Assigned) and i and _opens(records[i - 1]):
            # Opening and first assignment are one command: the trigger (or reopen) shows who got it.
            found[-1] = replace(found[-1], assignees=state.assignees)
        found.append(state)
    return found


def _opens(record: Record) -> bool:
    return isinstance(record, Reopened) or (isinstance(record, Triggered) and record.opened)
