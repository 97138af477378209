"""Free-text filters are bounded: at the limit they are answered, past it a PagerDuty 400.

A ~50,000-character ``query=`` once reached SQLite as a LIKE pattern and answered 500
("LIKE or GLOB pattern too complex")."""

from __future__ import annotations

import pytest

from tests.conftest import Harness
from tests.helpers import assert_error
from tocsin.http.params import MAX_FILTER_LENGTH

# (path, filter, other parameters the filter needs, the list's key in the answer)
FILTERS = [
    ("/services", "query", {}, "services"),
    ("/users", "query", {}, "users"),
    ("/teams", "query", {}, "teams"),
    ("/schedules", "query", {}, "schedules"),
    ("/escalation_policies", "query", {}, "escalation_policies"),
    ("/maintenance_windows", "query", {}, "maintenance_windows"),
    ("/incidents", "incident_key", {}, "incidents"),
    ("/incidents/{incident}/alerts", "alert_key", {}, "alerts"),
    ("/audit/records", "actor_id", {"actor_type": "user_reference"}, "records"),
    ("/audit/records", "method_truncated_token", {"method_type": "api_token"}, "records"),
]


async def _incident_id(harness: Harness) -> str:
    assert (await harness.send(harness.event(dedup_key="filters"))).status_code == 202
    await harness.process()
    listed = (await harness.client.get("/incidents", headers=harness.auth)).json()["incidents"]
    return str(listed[0]["id"])


@pytest.mark.parametrize(("path", "name", "extra", "key"), FILTERS)
async def test_a_filter_at_the_limit_is_answered(harness: Harness, path: str, name: str,
                                                 extra: dict[str, str], key: str) -> None:
    if "{incident}" in path:
        path = path.format(incident=await _incident_id(harness))
    params = {**extra, name: "a" * MAX_FILTER_LENGTH}
    answer = await harness.client.get(path, params=params, headers=harness.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()[key] == []  # nothing is named, keyed or done by 255 a's


@pytest.mark.parametrize(("path", "name", "extra", "key"), FILTERS)
@pytest.mark.parametrize("length", [MAX_FILTER_LENGTH + 1, 50_000])
async def test_a_filter_past_the_limit_is_a_400(harness: Harness, path: str, name: str, extra: dict[str, str],
                                                key: str, length: int) -> None:
    if "{incident}" in path:
        path = path.format(incident=await _incident_id(harness))
    params = {**extra, name: "a" * length}
    error = assert_error(await harness.client.get(path, params=params, headers=harness.auth), 400, 2001)
    assert error["errors"] == [f"{name} must be at most {MAX_FILTER_LENGTH} characters"]


async def test_a_filter_at_the_limit_still_finds_by_substring(harness: Harness) -> None:
    name = "b" * (MAX_FILTER_LENGTH - 10) + "_100%\\done"
    body = {"team": {"name": name[:100]}}
    assert (await harness.client.post("/teams", json=body, headers=harness.writer)).status_code == 201
    found = (await harness.client.get("/teams", params={"query": name[:100]}, headers=harness.auth)).json()
    assert [t["name"] for t in found["teams"]] == [name[:100]]
