"""When a destination is switched off (pure): 60 % failed of at least 10 deliveries in 12 hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.webhooks.health import MIN_DELIVERIES, should_disable, window_start


def test_the_boundaries() -> None:
    assert should_disable(4, 6)  # 60 % of 10
    assert not should_disable(5, 5)
    assert not should_disable(0, 9)  # too few to judge
    assert should_disable(0, 10)
    assert should_disable(40, 60) and not should_disable(41, 59)


@given(st.integers(0, 500), st.integers(0, 500))
def test_the_rule(delivered: int, failed: int) -> None:
    total = delivered + failed
    expected = total >= MIN_DELIVERIES and failed / total >= 0.6 - 1e-12
    assert should_disable(delivered, failed) == expected


def test_the_window_starts_at_the_last_enable() -> None:
    now = datetime(2030, 1, 7, 20, 0, tzinfo=UTC)
    assert window_start(now, now - timedelta(days=3)) == now - timedelta(hours=12)
    assert window_start(now, now - timedelta(hours=1)) == now - timedelta(hours=1)
