"""When tick() stops its rounds (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.engine.pacing import due_now, progressed
from tocsin.engine.step import StepResult

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

results = st.builds(
    StepResult,
    done=st.integers(0, 5),
    more=st.booleans(),
    next_due=st.none() | st.timedeltas(timedelta(minutes=-5), timedelta(hours=2)).map(lambda d: NOW + d),
    skipped_locked=st.booleans(),
)


@given(st.lists(results, max_size=6))
def test_a_round_progressed_when_some_step_did_work_or_has_more(reported: list[StepResult]) -> None:
    assert progressed(reported) == any(r.done > 0 or r.more for r in reported)


def test_work_due_now_excludes_rows_another_engine_holds() -> None:
    assert due_now([StepResult(next_due=NOW)], NOW)
    assert not due_now([StepResult(next_due=NOW, skipped_locked=True)], NOW)
    assert not due_now([StepResult(next_due=NOW + timedelta(microseconds=1))], NOW)
