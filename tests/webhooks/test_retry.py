"""The retry schedule and the verdict on an answer (pure), with Hypothesis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.webhooks.retry import DELIVERED, DROP, MAX_ATTEMPTS, RETRY, SCHEDULE, judge, retry_delay

SECONDS, MINUTES = timedelta(seconds=1), timedelta(minutes=1)


def test_the_three_cycles_of_the_brief() -> None:
    first = [retry_delay(n) for n in range(1, 6)]
    second = [retry_delay(n) for n in range(6, 11)]
    third = [retry_delay(n) for n in range(11, 17)]
    assert first == [s * SECONDS for s in (1, 3, 5, 10, 10)]
    assert second == [s * SECONDS for s in (0, 1, 3, 5, 30)]
    assert third == [m * MINUTES for m in (1, 1, 3, 5, 10, 30)]
    assert retry_delay(17) is None and MAX_ATTEMPTS == 17
    assert sum(SCHEDULE, timedelta()) == timedelta(seconds=29 + 39, minutes=50)


@given(st.integers(min_value=1, max_value=10_000))
def test_a_delay_exists_exactly_until_the_last_attempt(attempts: int) -> None:
    delay = retry_delay(attempts)
    assert (delay is not None) == (attempts < MAX_ATTEMPTS)
    if delay is not None:
        assert timedelta(0) <= delay <= timedelta(minutes=30)


@given(st.integers(max_value=0))
def test_attempts_count_from_one(attempts: int) -> None:
    with pytest.raises(ValueError, match="from 1"):
        retry_delay(attempts)


@given(st.integers(min_value=100, max_value=599) | st.none())
def test_the_verdict_on_an_answer(status: int | None) -> None:
    verdict = judge(status)
    if status is None or status == 429 or status >= 500:
        assert verdict == RETRY
    elif 200 <= status < 300:
        assert verdict == DELIVERED
    else:
        assert verdict == DROP  # 1xx, 3xx (redirects are not followed), 4xx but 429
