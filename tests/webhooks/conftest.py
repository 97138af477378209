"""The receivers in these tests listen on 127.0.0.1: the outbound guard (tocsin.outbound) refuses
loopback unless TOCSIN_WEBHOOK_ALLOWED_NETWORKS allows it, as an operator would for a local
receiver. The guard itself is proved in tests/outbound."""

from __future__ import annotations

from typing import Any

import pytest

LOOPBACK = "127.0.0.0/8"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"webhook_allowed_networks": LOOPBACK}
