"""Which steps the loop runs and how long it sleeps (pure): tocsin.engine.agenda."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.engine.agenda import (
    BACKGROUND_YIELD_SECONDS,
    FAILED_SECONDS,
    IDLE_SECONDS,
    LOCKED_SECONDS,
    OVERDUE_SECONDS,
    Agenda,
    next_run,
)
from tocsin.engine.step import StepResult

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STEPS = ["notify", "escalate", "clock", "handoff", "reconcile"]


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def settled(mono: float = 100.0) -> Agenda:
    """Every step ran at ``mono`` and reported nothing due."""
    agenda = Agenda(STEPS, NOW)
    assert agenda.ready(NOW, mono) == STEPS  # at start: everything once
    for name in STEPS:
        agenda.ran(name, StepResult(), NOW, mono)
    return agenda


def test_every_step_runs_at_start_then_only_at_the_safety_net() -> None:
    agenda = settled()
    assert agenda.ready(NOW + s(1), 101.0) == []
    assert agenda.sleep_seconds(NOW + s(1), 101.0) == IDLE_SECONDS - 1
    assert agenda.ready(NOW + s(5), 100.0 + IDLE_SECONDS) == STEPS  # nothing reported: still looked at


def test_an_announcement_runs_only_its_step_and_only_when_due() -> None:
    agenda = settled()
    agenda.announce({"notify": NOW, "escalate": NOW + s(1800)}, NOW)
    assert agenda.ready(NOW, 100.0) == ["notify"]  # the escalation is 30 minutes off: not looked at
    assert agenda.ready(NOW, 100.0) == []  # taken: announced once, run once
    agenda.ran("notify", StepResult(), NOW, 100.1)
    assert agenda.sleep_seconds(NOW, 100.1) == pytest.approx(IDLE_SECONDS - 0.1)  # the safety net first
    assert agenda.next_runs()["escalate"] == NOW + s(1800)
    agenda.announce({"escalate": NOW + s(2)}, NOW)
    assert agenda.sleep_seconds(NOW, 100.1) == 2.0
    assert agenda.sleep_seconds(NOW, 100.1, rate=10) == 0.2  # a fast clock: two engine seconds in 0.2 real
    assert agenda.ready(NOW + s(2), 100.3) == ["escalate"]


def test_announcing_everything_and_unknown_steps() -> None:
    agenda = settled()
    agenda.announce({"webhooks": NOW}, NOW)  # no such step here: ignored
    assert agenda.ready(NOW, 100.0) == []
    agenda.announce(None, NOW)  # a bare wake (a NOTIFY from an older Tocsin, a reconnect)
    assert agenda.ready(NOW, 100.0) == STEPS


def test_an_announcement_during_a_run_is_kept_for_the_next_look() -> None:
    agenda = settled()
    agenda.announce({"notify": NOW}, NOW)
    assert agenda.ready(NOW, 100.0) == ["notify"]
    agenda.announce({"notify": NOW + s(0.01)}, NOW)  # a commit while notify runs
    agenda.ran("notify", StepResult(), NOW + s(0.02), 100.02)  # its query ran before that commit
    assert agenda.ready(NOW + s(0.02), 100.02) == ["notify"]


def test_what_a_run_reports_decides_its_next_run() -> None:
    assert next_run(StepResult(more=True, next_due=NOW + s(60)), NOW) == NOW
    assert next_run(None, NOW) == NOW + s(FAILED_SECONDS)
    assert next_run(StepResult(), NOW) is None
    assert next_run(StepResult(next_due=NOW + s(60)), NOW) == NOW + s(60)
    assert next_run(StepResult(next_due=NOW - s(1)), NOW) == NOW + s(OVERDUE_SECONDS)
    assert next_run(StepResult(skipped_locked=True), NOW) == NOW + s(LOCKED_SECONDS)
    assert next_run(StepResult(skipped_locked=True, next_due=NOW + s(0.1)), NOW) == NOW + s(0.1)
    assert next_run(StepResult(skipped_locked=True, next_due=NOW + s(60)), NOW) == NOW + s(LOCKED_SECONDS)
    assert next_run(StepResult(skipped_locked=True), NOW, rate=10) == NOW + s(LOCKED_SECONDS * 10)


results = st.none() | st.builds(
    StepResult,
    done=st.integers(0, 5),
    more=st.booleans(),
    next_due=st.none() | st.timedeltas(s(-300), timedelta(hours=2)).map(lambda d: NOW + d),
    skipped_locked=st.booleans(),
)
rates = st.sampled_from([1.0, 0.5, 10.0, 3600.0])


@given(st.lists(results, min_size=len(STEPS), max_size=len(STEPS)), rates, st.floats(0, 10))
def test_sleeps_are_bounded_and_never_pass_a_due_run(
        reported: list[StepResult | None], rate: float, later: float) -> None:
    agenda = settled()
    for name, result in zip(STEPS, reported, strict=True):
        agenda.ran(name, result, NOW, 100.0, rate)
    delay = agenda.sleep_seconds(NOW, 100.0 + later, rate)
    assert 0.0 <= delay <= IDLE_SECONDS
    assert (delay == 0.0) == (later >= IDLE_SECONDS or any(r is not None and r.more for r in reported))
    runs = [at for at in agenda.next_runs().values() if at is not None]
    if runs:
        assert delay <= max(0.0, (min(runs) - NOW).total_seconds() / rate) + 1e-9
    # Whatever is due at the end of the sleep is ready then (no wake is ever needed to make progress).
    woke = NOW + s(delay * rate)
    due = [name for name, at in agenda.next_runs().items() if at is not None and at <= woke]
    assert set(due) <= set(agenda.ready(woke, 100.0 + later + delay))
    # A busy loop only for a step that has more.
    assert not any(r is not None and r.more for r in reported) or delay == 0.0


def test_a_background_step_gives_way_to_work_due_now_but_not_for_long() -> None:
    agenda = Agenda(STEPS, NOW, background=["reconcile"])
    assert agenda.ready(NOW, 100.0) == STEPS  # at start, with nothing else known: everything
    for name in STEPS:
        agenda.ran(name, StepResult(more=name in ("escalate", "reconcile")), NOW, 100.0)
    assert agenda.ready(NOW, 100.2) == ["escalate"]  # an escalation storm: the audit waits
    agenda.ran("escalate", StepResult(more=True), NOW, 100.3)
    assert agenda.ready(NOW, 100.0 + BACKGROUND_YIELD_SECONDS) == ["escalate", "reconcile"]  # but not forever
    agenda.ran("escalate", StepResult(), NOW, 101.1)
    agenda.ran("reconcile", StepResult(more=True), NOW, 101.1)
    assert agenda.ready(NOW, 101.2) == ["reconcile"]  # nothing else due: the walk goes on at once


def test_a_background_step_gives_way_to_a_step_that_runs_apart() -> None:
    """The in-line loop asks only for its own steps, but a step running in a loop of its own
    (notify on PostgreSQL) with work due now still keeps the audit waiting."""
    agenda = Agenda(STEPS, NOW, background=["reconcile"])
    for name in STEPS:
        agenda.ran(name, StepResult(more=name in ("notify", "reconcile")), NOW, 100.0)
    in_line = [name for name in STEPS if name != "notify"]
    assert agenda.ready(NOW, 100.2, in_line) == []  # pages being sent apart: the audit waits
    assert agenda.ready(NOW, 100.0 + BACKGROUND_YIELD_SECONDS, in_line) == ["reconcile"]  # not forever
    agenda.ran("notify", StepResult(), NOW, 101.1)
    agenda.ran("reconcile", StepResult(more=True), NOW, 101.1)
    assert agenda.ready(NOW, 101.2, in_line) == ["reconcile"]  # the sends are done: the walk goes on


def gathering(mono: float = 100.0, gather: float = 0.25) -> Agenda:
    """Every step ran at ``mono``; notify gathers ``gather`` seconds."""
    agenda = Agenda(STEPS, NOW, gather={"notify": gather, "unknown": 1.0})
    agenda.ready(NOW, mono)
    for name in STEPS:
        agenda.ran(name, StepResult(), NOW, mono)
    return agenda


def test_work_announced_soon_after_a_gathering_steps_run_waits_for_the_rest_of_its_time() -> None:
    agenda = gathering()
    agenda.announce({"notify": NOW, "escalate": NOW}, NOW)
    assert agenda.ready(NOW, 100.1) == ["escalate"]  # 0.1 s after notify's run: it gathers, escalate does not
    assert agenda.sleep_seconds(NOW, 100.1) == pytest.approx(0.15)  # until 0.25 s after its run
    agenda.announce({"notify": NOW}, NOW)  # more commits meanwhile: still one run
    assert agenda.ready(NOW, 100.2) == []
    assert agenda.ready(NOW, 100.25) == ["notify"]
    agenda.ran("notify", StepResult(), NOW, 100.3)
    assert agenda.ready(NOW, 100.3) == []  # taken: nothing announced since


def test_the_first_work_after_a_quiet_spell_runs_at_once() -> None:
    agenda = gathering()
    agenda.announce({"notify": NOW + s(3)}, NOW)
    assert agenda.sleep_seconds(NOW + s(3), 103.0) == 0.0
    assert agenda.ready(NOW + s(3), 103.0) == ["notify"]  # its last run was 3 s ago


def test_a_run_that_left_a_full_batch_runs_again_at_once_while_gathering() -> None:
    agenda = gathering()
    agenda.announce({"notify": NOW}, NOW)
    assert agenda.ready(NOW, 100.3) == ["notify"]
    agenda.ran("notify", StepResult(done=500, more=True), NOW, 100.31)
    assert agenda.ready(NOW, 100.31) == ["notify"]  # a backlog: no gathering
    assert agenda.sleep_seconds(NOW, 100.31) == 0.0
    agenda.ran("notify", StepResult(done=3), NOW, 100.32)
    agenda.announce({"notify": NOW}, NOW)
    assert agenda.ready(NOW, 100.33) == []  # caught up: gathering again
    assert agenda.sleep_seconds(NOW, 100.33) == pytest.approx(0.24)


@given(st.floats(0.0, 2.0), st.floats(0.0, 3.0))
def test_a_gathering_step_never_waits_past_its_gather_time(gather: float, since: float) -> None:
    agenda = gathering(gather=gather)
    agenda.announce({"notify": NOW}, NOW)
    wait = agenda.sleep_seconds(NOW, 100.0 + since)
    assert 0.0 <= wait <= max(0.0, gather - since) + 1e-9
    assert ("notify" in agenda.ready(NOW, 100.0 + since + wait + 1e-9)) is True


def test_a_background_step_held_back_by_a_gathering_step_is_slept_on_not_spun_on() -> None:
    agenda = Agenda(STEPS, NOW, background=["reconcile"], gather={"notify": 0.1})
    agenda.ready(NOW, 10.0)
    for name in STEPS:
        agenda.ran(name, StepResult(more=name == "reconcile"), NOW, 10.0)  # reconcile mid-walk
    agenda.announce({"notify": NOW}, NOW)
    for mono in (10.01, 10.05, 10.09):
        assert agenda.ready(NOW, mono) == []
        assert agenda.sleep_seconds(NOW, mono) == pytest.approx(10.1 - mono)  # notify's gathering ends first
    assert agenda.ready(NOW, 10.11) == ["notify"]
    agenda.ran("notify", StepResult(), NOW, 10.12)
    assert agenda.ready(NOW, 10.12) == ["reconcile"]  # nothing busy any more: the walk goes on


@given(st.floats(0.0, 2.0), st.floats(0.0, 1.5), st.booleans())
def test_whenever_nothing_is_ready_the_loop_sleeps(
        since_notify: float, since_reconcile: float, announced: bool) -> None:
    agenda = Agenda(STEPS, NOW, background=["reconcile"], gather={"notify": 0.25})
    agenda.ready(NOW, 0.0)
    base = 10.0
    for name in STEPS:
        agenda.ran(name, StepResult(more=name == "reconcile"), NOW, base)
    agenda.ran("notify", StepResult(), NOW, base + 1.0)
    agenda.ran("reconcile", StepResult(more=True), NOW, base + 1.0 + 1.0 - since_reconcile)
    if announced:
        agenda.announce({"notify": NOW}, NOW)
    mono = base + 1.0 + since_notify
    wait = agenda.sleep_seconds(NOW, mono)
    if not agenda.ready(NOW, mono):
        assert wait > 0
