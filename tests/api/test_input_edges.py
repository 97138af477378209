"""Input no database column can hold, and dates at datetime's edges: 400s, never 500s."""

from __future__ import annotations

import pytest

from tests.conftest import Harness
from tests.helpers import assert_error, default_policy


@pytest.mark.parametrize("url", [
    "/incidents/P%00X", "/services?query=a%00b", "/schedules?query=a%00b", "/schedules/P%00X",
])
async def test_nul_in_path_or_query_is_a_400(harness: Harness, url: str) -> None:
    assert_error(await harness.client.get(url, headers=harness.auth), 400, 2001)


async def test_nul_in_a_body_field_is_a_400_and_writes_nothing(harness: Harness) -> None:
    """PostgreSQL cannot store NUL; SQLite could, but then the same body would mean two things on
    two backends (and a SQLite database could not move to PostgreSQL): refused on both."""
    body = {"service": {"name": "db\u0000", "escalation_policy": default_policy(harness)}}
    error = assert_error(await harness.client.post("/services", json=body, headers=harness.writer), 400, 2001)
    assert any(e.startswith("service.name") and "NUL" in e for e in error["errors"]), error
    listed = (await harness.client.get("/services", params={"total": "true"}, headers=harness.auth)).json()
    assert listed["total"] == 1  # only the demo service


async def test_nul_deep_inside_a_body_is_a_400_naming_where(harness: Harness) -> None:
    body = {"incident": {"type": "incident", "title": "Database down",
                         "service": {"id": harness.seed.service_id, "type": "service_reference"},
                         "conference_bridge": {"conference_url": "https://meet.example.com/\u0000"}}}
    error = assert_error(await harness.client.post("/incidents", json=body, headers=harness.writer), 400, 2001)
    assert any(e.startswith("incident.conference_bridge") and "NUL" in e for e in error["errors"]), error
    listed = (await harness.client.get("/incidents", params={"total": "true"}, headers=harness.auth)).json()
    assert listed["total"] == 0


@pytest.mark.parametrize("since", ["9999-12-30T00:00:00Z", "0001-01-01T00:00:00+05:00"])
async def test_dates_at_the_edges_of_time_are_a_400(harness: Harness, since: str) -> None:
    r = await harness.client.get("/incidents", params={"since": since}, headers=harness.auth)
    assert_error(r, 400, 2001)


async def test_schedule_layer_ending_before_it_starts_is_a_400(harness: Harness) -> None:
    body = {"schedule": {"name": "backwards", "time_zone": "UTC", "schedule_layers": [{
        "start": "2030-01-02T00:00:00Z", "end": "2030-01-01T00:00:00Z",
        "users": [{"user": {"id": "PNOBODY1", "type": "user_reference"}}],
        "rotation_turn_length_seconds": 86400}]}}
    error = assert_error(await harness.client.post("/schedules", json=body, headers=harness.writer), 400, 2001)
    assert any("end must be after start" in e for e in error["errors"]), error


async def test_unreachable_credential_store_is_a_pagerduty_shaped_503(harness: Harness,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import tocsin.auth.access as access

    async def broken(*_: object) -> None:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(access, "_load_api_key", broken)
    r = await harness.client.get("/services", headers={"Authorization": "Token token=never_seen_before_xx"})
    assert_error(r, 503, 2000)


@pytest.mark.parametrize("path", ["/incidents", "/schedules", "/oncalls", "/log_entries"])
async def test_absurd_time_zone_names_are_400(harness: Harness, path: str) -> None:
    """A name too long for a file path makes zoneinfo raise OSError (with the tzdata package
    installed), not ZoneInfoNotFoundError: still the client's error."""
    for name in ("x" * 5000, "1" * 300, "../../etc/passwd", "Europe/" + "a" * 400):
        answer = await harness.client.get(path, headers=harness.auth, params={"time_zone": name})
        assert_error(answer, 400, 2001)
