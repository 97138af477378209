"""The retry schedule: growing waits, bounded jitter, a fixed number of attempts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.notifications.backoff import JITTER, MAX_ATTEMPTS, RETRY_DELAYS, retry_delay


def constant(value: float) -> Callable[[], float]:
    return lambda: value


def test_the_nominal_schedule() -> None:
    middle = [retry_delay(n, lambda: 0.5) for n in range(1, MAX_ATTEMPTS + 1)]
    assert middle == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5),
                      timedelta(minutes=10), None]
    assert MAX_ATTEMPTS == 6  # the first attempt and five retries


def test_attempts_are_counted_from_one() -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        retry_delay(0, lambda: 0.5)


@given(st.integers(min_value=1, max_value=50), st.floats(allow_nan=False, allow_infinity=True))
def test_every_wait_stays_within_the_jitter_of_its_nominal_value(attempts: int, draw: float) -> None:
    delay = retry_delay(attempts, lambda: draw)
    if attempts >= MAX_ATTEMPTS:
        assert delay is None
        return
    assert delay is not None
    nominal = RETRY_DELAYS[attempts - 1]
    assert nominal * (1 - JITTER) <= delay <= nominal * (1 + JITTER)
    assert delay > timedelta(0)


@given(st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), min_size=MAX_ATTEMPTS - 1,
                max_size=MAX_ATTEMPTS - 1))
def test_later_retries_never_come_sooner_and_the_whole_schedule_is_bounded(draws: list[float]) -> None:
    waits = [retry_delay(n, constant(d)) for n, d in enumerate(draws, start=1)]
    assert all(w is not None for w in waits)
    present = [w for w in waits if w is not None]
    # the jitter (10 %) is smaller than any step between nominal waits (at least 2x)
    assert present == sorted(present)
    assert sum(present, timedelta(0)) <= sum(RETRY_DELAYS, timedelta(0)) * (1 + JITTER)


@given(st.floats(min_value=0, max_value=1, exclude_max=True))
def test_a_custom_schedule_is_followed(draw: float) -> None:
    delays = (timedelta(seconds=1), timedelta(seconds=2))
    assert retry_delay(3, lambda: draw, delays) is None
    first = retry_delay(1, lambda: draw, delays, jitter=0.0)
    assert first == timedelta(seconds=1)
