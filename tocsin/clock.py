"""An injectable clock so tests can fast-forward time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **kwargs: float) -> None:
        self._now += timedelta(**kwargs)


class ScaledClock:
    """A test and development facility: time that runs ``rate`` times as fast as the system's.

    ``now = epoch + (time.time() - real_epoch) * rate``. Processes started with the same
    ``real_epoch`` and ``rate`` (settings ``clock_epoch_real`` and ``clock_rate``) share one fast
    clock, so a test with several server and engine processes sees an hour's escalations in a
    minute. FrozenClock is the tool for in-process tests; this one is for real processes."""

    def __init__(self, epoch: datetime, real_epoch: float, rate: float,
                 real_time: Callable[[], float] = time.time) -> None:
        if rate <= 0:
            raise ValueError("a clock rate must be positive")
        self.epoch = epoch
        self.real_epoch = real_epoch
        self.rate = rate
        self._real_time = real_time

    def now(self) -> datetime:
        return self.epoch + timedelta(seconds=(self._real_time() - self.real_epoch) * self.rate)


class ShiftedClock:
    """Another clock, moved on by hand: ``now = inner.now() + offset``. ``tocsin dev``'s clock
    (``POST /dev/clock/advance``), which keeps running (at its rate) between the jumps."""

    def __init__(self, inner: Clock) -> None:
        self.inner = inner
        self.offset = timedelta()

    def now(self) -> datetime:
        return self.inner.now() + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


def clock_for(rate: float, epoch_real: float | None) -> Clock:
    """The process's clock from its settings: the system clock at rate 1, else a ScaledClock that
    agrees with the system clock at the unix time ``epoch_real`` (default: now)."""
    if rate == 1.0:
        return SystemClock()
    real_epoch = time.time() if epoch_real is None else epoch_real
    return ScaledClock(datetime.fromtimestamp(real_epoch, UTC), real_epoch, rate)
