"""``pagerduty_settings``: a test module (or conftest) changes the double's Tocsin settings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tocsin.testing import PagerDuty


@pytest.fixture
def pagerduty_settings() -> dict[str, Any]:
    return {"events_rate_limit": 2}  # PagerDuty-like limits, to test an integration's backoff


def test_the_doubles_settings_come_from_the_fixture(pagerduty: PagerDuty) -> None:
    event = {"routing_key": pagerduty.routing_key, "event_action": "trigger",
             "payload": {"summary": "flapping", "source": "s", "severity": "info"}}
    statuses = [httpx.post(pagerduty.events_url, json=event).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    assert [r.status for r in pagerduty.requests("events")] == statuses
