"""How long the loop sleeps after a tick, from what the steps reported (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.engine.pacing import (
    IDLE_SECONDS,
    LOCKED_SECONDS,
    OVERDUE_SECONDS,
    due_now,
    progressed,
    sleep_seconds,
)
from tocsin.engine.step import StepResult

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

results = st.builds(
    StepResult,
    done=st.integers(0, 5),
    more=st.booleans(),
    next_due=st.none() | st.timedeltas(timedelta(minutes=-5), timedelta(hours=2)).map(lambda d: NOW + d),
    skipped_locked=st.booleans(),
)
rates = st.sampled_from([1.0, 0.5, 10.0, 3600.0])


def test_the_loop_sleeps_until_the_earliest_due_time() -> None:
    in_2s, in_3s = StepResult(next_due=NOW + timedelta(seconds=2)), StepResult(next_due=NOW + timedelta(seconds=3))
    assert sleep_seconds([in_3s, in_2s, StepResult()], NOW) == 2.0
    assert sleep_seconds([in_2s], NOW, rate=10) == 0.2  # a fast clock: two engine seconds in 0.2 real
    assert sleep_seconds([StepResult(next_due=NOW + timedelta(hours=1))], NOW) == IDLE_SECONDS
    assert sleep_seconds([StepResult()], NOW) == IDLE_SECONDS
    assert sleep_seconds([], NOW) == IDLE_SECONDS
    assert sleep_seconds([in_3s, StepResult(skipped_locked=True)], NOW) == LOCKED_SECONDS
    assert sleep_seconds([in_3s, StepResult(more=True)], NOW) == 0.0
    assert sleep_seconds([StepResult(next_due=NOW - timedelta(seconds=1))], NOW) == OVERDUE_SECONDS


@given(st.lists(results, max_size=6), rates)
def test_sleeps_are_bounded_and_follow_the_reports(reported: list[StepResult], rate: float) -> None:
    delay = sleep_seconds(reported, NOW, rate)
    assert 0.0 <= delay <= IDLE_SECONDS
    assert (delay == 0.0) == any(r.more for r in reported)
    if any(r.skipped_locked for r in reported):
        assert delay <= LOCKED_SECONDS
    dues = [r.next_due for r in reported if r.next_due is not None]
    if dues and not any(r.more for r in reported):
        # Never past the earliest due time (but never a busy loop for work already due).
        assert delay <= max((min(dues) - NOW).total_seconds() / rate, OVERDUE_SECONDS) + 1e-9


@given(st.lists(results, max_size=6))
def test_a_round_made_progress_exactly_when_a_step_did_work_or_has_more(reported: list[StepResult]) -> None:
    assert progressed(reported) == any(r.done > 0 or r.more for r in reported)


def test_work_due_now_excludes_rows_another_engine_holds() -> None:
    assert due_now([StepResult(next_due=NOW)], NOW)
    assert not due_now([StepResult(next_due=NOW, skipped_locked=True)], NOW)
    assert not due_now([StepResult(next_due=NOW + timedelta(microseconds=1))], NOW)
