"""The login throttle: five free failures, then a lock that doubles up to an hour, forgotten
after an hour without failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.ui import throttle
from tocsin.ui.throttle import BASE_LOCK, FREE_FAILURES, MAX_LOCK, State, after_failure, locked, retry_after

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def test_five_failures_are_free_then_locks_grow() -> None:
    state = State()
    for n in range(1, FREE_FAILURES):
        state = after_failure(state, T0)
        assert state.failures == n and not locked(state, T0)
    state = after_failure(state, T0)  # the fifth
    assert locked(state, T0) and retry_after(state, T0) == BASE_LOCK
    assert not locked(state, T0 + BASE_LOCK)
    later = T0 + BASE_LOCK
    state = after_failure(state, later)  # the sixth, once the lock passed: twice as long
    assert retry_after(state, later) == 2 * BASE_LOCK


def test_failures_are_forgotten_after_an_hour_of_quiet() -> None:
    state = State()
    for _ in range(FREE_FAILURES - 1):
        state = after_failure(state, T0)
    quiet = T0 + throttle.FORGET_AFTER
    assert throttle.current(state, quiet) == State()
    assert after_failure(state, quiet).failures == 1
    assert throttle.current(state, quiet - timedelta(seconds=1)).failures == FREE_FAILURES - 1


@given(st.lists(st.integers(min_value=0, max_value=7200), min_size=1, max_size=40))
def test_the_lock_never_exceeds_the_cap_and_never_shrinks_within_a_burst(gaps: list[int]) -> None:
    state, now, previous = State(), T0, timedelta(0)
    for gap in gaps:
        now += timedelta(seconds=gap)
        state = after_failure(state, now)
        lock = retry_after(state, now)
        assert timedelta(0) <= lock <= MAX_LOCK
        assert (lock > timedelta(0)) == (state.failures >= FREE_FAILURES)
        if gap == 0 and state.failures > FREE_FAILURES:
            assert lock >= previous
        previous = lock


def test_lock_for_is_capped_for_huge_counts() -> None:
    assert throttle.lock_for(10_000) == MAX_LOCK
    assert throttle.lock_for(FREE_FAILURES - 1) == timedelta(0)
