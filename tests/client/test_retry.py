"""How long the client waits before retrying a refused request (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from tocsin.client.retry import FIRST_DELAY, MAX_DELAY, retry_delay

NOW = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)


def test_ratelimit_reset_is_honoured() -> None:
    assert retry_delay({"ratelimit-reset": "7"}, 0, jitter=0) == 7.0


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert retry_delay({"retry-after": "3"}, 0, jitter=0) == 3.0
    later = format_datetime(NOW + timedelta(seconds=12), usegmt=True)
    assert retry_delay({"retry-after": later}, 0, now=NOW, jitter=0) == 12.0


def test_the_longer_of_the_two_headers_wins() -> None:
    assert retry_delay({"ratelimit-reset": "2", "retry-after": "9"}, 0, jitter=0) == 9.0
    assert retry_delay({"ratelimit-reset": "20", "retry-after": "9"}, 0, jitter=0) == 20.0


def test_without_headers_the_wait_doubles() -> None:
    assert [retry_delay({}, n, jitter=0) for n in range(4)] == [FIRST_DELAY, 2 * FIRST_DELAY, 4 * FIRST_DELAY,
                                                                 8 * FIRST_DELAY]


def test_nonsense_headers_are_ignored_and_waits_are_capped() -> None:
    assert retry_delay({"ratelimit-reset": "soon", "retry-after": "never"}, 1, jitter=0) == 2 * FIRST_DELAY
    assert retry_delay({"ratelimit-reset": "-5"}, 0, jitter=0) == FIRST_DELAY
    assert retry_delay({"ratelimit-reset": "86400"}, 0, jitter=0) == MAX_DELAY
    assert retry_delay({}, 30, jitter=0) == MAX_DELAY


@given(reset=st.one_of(st.none(), st.integers(-10, 10**6).map(str), st.text(max_size=8)),
       attempt=st.integers(0, 60))
def test_a_wait_is_never_negative_nor_past_the_cap(reset: str | None, attempt: int) -> None:
    headers = {} if reset is None else {"ratelimit-reset": reset}
    assert 0 <= retry_delay(headers, attempt) <= MAX_DELAY
