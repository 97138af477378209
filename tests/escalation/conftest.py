"""Fixtures of the escalation tests."""

from __future__ import annotations

import pytest

from tests.conftest import Harness
from tests.escalation.helpers import NOW
from tocsin.clock import FrozenClock


@pytest.fixture
def h(harness: Harness) -> Harness:
    """The harness with the clock frozen at ``NOW``."""
    harness.tocsin.runtime.clock = FrozenClock(NOW)
    return harness
