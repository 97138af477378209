"""Fixtures of the schedule tests."""

from __future__ import annotations

import pytest

from tests.conftest import Harness
from tests.schedules.helpers import at
from tocsin.clock import FrozenClock


@pytest.fixture
def h(harness: Harness) -> Harness:
    """The harness with the clock frozen at 2030-01-01T00:00:00Z."""
    harness.tocsin.runtime.clock = FrozenClock(at("2030-01-01T00:00:00"))
    return harness
