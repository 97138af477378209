"""ScaledClock: one fast clock shared by several processes (a test and development facility)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.clock import ScaledClock, SystemClock, clock_for
from tocsin.config import Settings

EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_scaled_time_runs_rate_times_as_fast_from_its_epoch() -> None:
    real = [1000.0]
    clock = ScaledClock(EPOCH, real_epoch=1000.0, rate=60.0, real_time=lambda: real[0])
    assert clock.now() == EPOCH
    real[0] += 1.5
    assert clock.now() == EPOCH + timedelta(seconds=90)


def test_processes_with_the_same_settings_share_one_clock() -> None:
    settings = Settings(clock_rate=120.0, clock_epoch_real=1_770_000_000.0)
    first, second = (clock_for(settings.clock_rate, settings.clock_epoch_real) for _ in range(2))
    assert isinstance(first, ScaledClock) and isinstance(second, ScaledClock)
    assert first.epoch == second.epoch == datetime.fromtimestamp(1_770_000_000.0, UTC)
    assert abs((first.now() - second.now()).total_seconds()) < 1.0  # 120 x the few µs between reads


def test_rate_one_is_the_system_clock_and_rates_must_be_positive() -> None:
    assert isinstance(clock_for(1.0, None), SystemClock)
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(EPOCH, 0.0, 0.0)
    with pytest.raises(ValueError, match="greater than 0"):
        Settings(clock_rate=0)
