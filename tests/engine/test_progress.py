"""How a transaction's records move an incident's escalation row on (tocsin.engine.progress)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tocsin.engine.path import PolicyRule, freeze
from tocsin.engine.progress import Progress, matters, progress
from tocsin.incidents.transition_records import (
    Acknowledged,
    Annotated,
    Assigned,
    Delegated,
    Escalated,
    Notified,
    PathExhausted,
    PathRepeated,
    Reassigned,
    Reopened,
    Resolved,
    Triggered,
    Unacknowledged,
    UrgencyChanged,
)

T0 = datetime(2024, 6, 3, 8, tzinfo=UTC)
BASE: dict[str, Any] = {"incident_id": "I1", "agent": None, "channel": {"type": "api"}, "summary": ""}
PATH = freeze(2, [PolicyRule("R1", 5, (("user", "U1"),))])
RUNNING = Progress(PATH, 1, False, T0, T0)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_opening_reopening_and_delegating_freeze_afresh() -> None:
    opened = progress(None, [Triggered(**BASE, at=at(0)), Assigned(**BASE, at=at(0), to_users=("U1",))])
    assert opened is not None and opened.freeze
    assert opened == Progress.fresh(at(0))
    reopened = progress(RUNNING, [Reopened(**BASE, at=at(50))])
    assert reopened == Progress.fresh(at(50))
    delegated = progress(RUNNING, [Delegated(**BASE, at=at(20), policy_id="P2", to_users=("U2",))])
    assert delegated == Progress(PATH, 0, False, at(20), T0, freeze=True)


def test_escalations_restart_the_level_and_undo_an_exhaust() -> None:
    exhausted = Progress(PATH, 2, True, T0, T0)
    assert progress(exhausted, [Escalated(**BASE, at=at(7), level=1)]) == Progress(PATH, 2, False, at(7), T0)
    assert progress(RUNNING, [Reassigned(**BASE, at=at(8))]) == Progress(PATH, 1, False, at(8), T0)


def test_the_engine_records_count_loops_and_exhaust() -> None:
    repeated = progress(RUNNING, [PathRepeated(**BASE, at=at(5), loop=2), Escalated(**BASE, at=at(5), level=1)])
    assert repeated == Progress(PATH, 2, False, at(5), T0)
    assert progress(repeated, [PathExhausted(**BASE, at=at(10))]) == Progress(PATH, 2, True, at(5), T0)


def test_unacknowledging_restarts_the_level_and_renotifies_an_urgency_change_renotifies() -> None:
    assert progress(RUNNING, [Unacknowledged(**BASE, at=at(30))]) == Progress(PATH, 1, False, at(30), T0, at(30))
    assert progress(RUNNING, [UrgencyChanged(**BASE, at=at(40))]) == Progress(PATH, 1, False, T0, T0, at(40))


def test_other_records_leave_the_row_and_are_not_planned() -> None:
    others = [Acknowledged(**BASE, at=at(1)), Resolved(**BASE, at=at(2)), Annotated(**BASE, at=at(3))]
    assert progress(RUNNING, others) == RUNNING
    assert progress(None, [Escalated(**BASE, at=at(1), level=2)]) is None  # no row, nothing starts one
    assert not matters(Triggered(**BASE, at=at(1), opened=False))  # a trigger added to an open alert
    assert not matters(Notified(**BASE, at=at(1))) and not matters(Annotated(**BASE, at=at(1)))
    assert matters(Triggered(**BASE, at=at(1))) and matters(Acknowledged(**BASE, at=at(1)))
