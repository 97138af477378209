"""Where each incident's escalation stands after a transaction's records (pure).

The planner (``tocsin.engine.planner``) reads the escalation rows of the incidents a transaction
changed, runs their records through ``progress`` and writes back what changed. Per record:

- a new or reopened incident (``Triggered`` that opened it, ``Reopened``, ``Assigned``): the
  policy is frozen afresh, loop 0, its level and its open time start now;
- ``Delegated``: the new policy is frozen; level 1 (the incident's), loop 0, starting now;
- ``Escalated`` (the engine's step or a manual escalation): the level starts now and the
  escalation runs again if it had exhausted; ``Reassigned``: the level's delay restarts;
- ``Unacknowledged`` (acknowledgement timeout, snooze end, by hand): the level's delay restarts
  and the assignees are told again (``renotify_at``); ``UrgencyChanged``: told again under the
  new urgency's notification rules;
- ``PathRepeated``: the loop count; ``PathExhausted``: escalation stops.
Other records (acknowledge, resolve, snooze, notes, sends ...) leave the row alone: what the
incident should have pending follows from its state (``tocsin.engine.plan``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from tocsin.engine.path import EMPTY_PATH, Path
from tocsin.incidents.transition_records import (
    Acknowledged,
    Assigned,
    Delegated,
    Escalated,
    HandedOver,
    PathExhausted,
    PathRepeated,
    Reassigned,
    Record,
    Reopened,
    Resolved,
    Snoozed,
    Triggered,
    Unacknowledged,
    UrgencyChanged,
)

# The records after which an incident's pending work may differ (the planner ignores the rest).
PLANNED_RECORDS = (Triggered, Reopened, Assigned, HandedOver, Acknowledged, Unacknowledged, Resolved, Snoozed,
                   UrgencyChanged, PathRepeated, PathExhausted)


def matters(record: Record) -> bool:
    """Whether ``record`` can change what its incident should have pending."""
    if isinstance(record, Triggered):
        return record.opened  # a trigger added to an open alert changes nothing
    return isinstance(record, PLANNED_RECORDS)


@dataclass(frozen=True, slots=True)
class Progress:
    """An incident's escalation row (``IncidentEscalation``) as plain values. ``freeze`` asks the
    planner to (re)freeze ``path`` from the incident's current policy."""

    path: Path
    loop: int
    exhausted: bool
    level_started_at: datetime
    opened_at: datetime
    renotify_at: datetime | None = None
    freeze: bool = False

    @staticmethod
    def fresh(at: datetime, opened_at: datetime | None = None) -> Progress:
        return Progress(EMPTY_PATH, 0, False, at, opened_at or at, None, freeze=True)


def progress(current: Progress | None, records: Iterable[Record]) -> Progress | None:
    """The row after ``records`` (all of one incident, in order); None when there is no row and
    none of the records starts one."""
    for r in records:
        at = r.at
        if (isinstance(r, Triggered) and r.opened) or isinstance(r, Reopened | Assigned):
            current = Progress.fresh(at)
            continue
        if current is None:
            continue
        if isinstance(r, Delegated):
            current = replace(current, loop=0, exhausted=False, level_started_at=at, freeze=True)
        elif isinstance(r, Escalated):
            current = replace(current, exhausted=False, level_started_at=at)
        elif isinstance(r, Reassigned):
            current = replace(current, level_started_at=at)
        elif isinstance(r, Unacknowledged):
            current = replace(current, level_started_at=at, renotify_at=at)
        elif isinstance(r, UrgencyChanged):
            current = replace(current, renotify_at=at)
        elif isinstance(r, PathRepeated):
            current = replace(current, loop=r.loop)
        elif isinstance(r, PathExhausted):
            current = replace(current, exhausted=True)
    return current
