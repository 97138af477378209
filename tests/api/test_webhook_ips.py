"""GET /webhook_ips: PagerDuty's shape (a bare JSON array of addresses), public, from the settings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness


async def test_empty_by_default_and_public(harness: Harness) -> None:
    r = await harness.client.get("/webhook_ips")  # no credential, as at PagerDuty
    assert r.status_code == 200
    assert r.json() == []


class TestConfigured:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"webhook_ips": "203.0.113.10, 2001:db8::10"}

    async def test_the_configured_addresses_in_order(self, harness: Harness) -> None:
        r = await harness.client.get("/webhook_ips")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json() == ["203.0.113.10", "2001:db8::10"]


def test_a_bad_address_stops_the_settings() -> None:
    from pydantic import ValidationError

    from tocsin.config import Settings

    bad_ips: dict[str, Any] = {"webhook_ips": "203.0.113"}
    with pytest.raises(ValidationError, match=r"'203\.0\.113' is not an IP address"):
        Settings(**bad_ips)
    bad_networks: dict[str, Any] = {"webhook_allowed_networks": "10.0.0.1/8"}
    with pytest.raises(ValidationError, match=r"'10\.0\.0\.1/8' is not a CIDR range"):
        Settings(**bad_networks)
