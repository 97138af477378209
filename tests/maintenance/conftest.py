"""Fixtures of the maintenance tests."""

from __future__ import annotations

import pytest

from tests.conftest import Harness
from tests.maintenance.helpers import freeze


@pytest.fixture
def h(harness: Harness) -> Harness:
    """The harness with the clock frozen at ``T0``."""
    freeze(harness)
    return harness
