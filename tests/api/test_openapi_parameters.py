"""The served OpenAPI document declares the query parameters each GET route reads, at least
those PagerDuty's own document declares for the same path, less the ones Tocsin does not
support (listed here, each with its reason)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.conftest import Harness

PAGERDUTY_OPENAPI = Path("/work/shared/pagerduty-api/rest-openapiv3.json")
if not PAGERDUTY_OPENAPI.exists():  # a checkout with shared/ beside it (as CI lays it out)
    PAGERDUTY_OPENAPI = Path(__file__).resolve().parents[3] / "shared/pagerduty-api/rest-openapiv3.json"

# PagerDuty parameters Tocsin does not read (yet), by path: documenting them would be a lie.
NOT_SUPPORTED: dict[str, set[str]] = {
    "/services": {"team_ids[]", "time_zone", "sort_by", "name"},  # services carry no team; one order
    "/services/{}/integrations/{}": {"include[]"},
    "/incidents/{}/alerts": {"sort_by", "include[]"},
    "/incidents/{}/log_entries": {"is_overview", "include[]"},
    "/log_entries": {"is_overview", "include[]", "team_ids[]"},
    "/log_entries/{}": {"include[]"},
    "/change_events": {"team_ids[]"},
    "/schedules": {"include_next_oncall_for_user"},
    "/schedules/{}/overrides": {"overflow"},
    "/users/{}/notification_rules/{}": {"include[]"},
}


def _normal(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _pagerduty_parameters() -> dict[str, set[str]]:
    document = json.loads(PAGERDUTY_OPENAPI.read_text())
    shared = document["components"]["parameters"]
    found: dict[str, set[str]] = {}
    for path, operations in document["paths"].items():
        if "get" not in operations:
            continue
        names = set()
        for parameter in operations["get"].get("parameters", []):
            if "$ref" in parameter:
                parameter = shared[parameter["$ref"].rsplit("/", 1)[-1]]
            if parameter["in"] == "query":
                names.add(parameter["name"])
        found[_normal(path)] = names
    return found


def _query_parameters(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}


async def test_every_get_route_documents_what_pagerduty_documents(harness: Harness) -> None:
    ours = (await harness.client.get("/openapi.json")).json()["paths"]
    theirs = _pagerduty_parameters()
    missing = {}
    for path, operations in ours.items():
        if "get" not in operations or _normal(path) not in theirs:
            continue
        documented = set(_query_parameters(operations["get"]))
        wanted = theirs[_normal(path)] - NOT_SUPPORTED.get(_normal(path), set())
        if wanted - documented:
            missing[path] = sorted(wanted - documented)
    assert not missing, missing


async def test_omissions_are_still_omissions() -> None:
    """An entry in NOT_SUPPORTED must name a parameter PagerDuty declares (no stale entries)."""
    theirs = _pagerduty_parameters()
    stale = {path: names - theirs.get(path, set()) for path, names in NOT_SUPPORTED.items()}
    assert not {path: names for path, names in stale.items() if names}, stale


async def test_list_routes_document_paging_filters_and_array_style(harness: Harness) -> None:
    ours = (await harness.client.get("/openapi.json")).json()["paths"]
    incidents = _query_parameters(ours["/incidents"]["get"])
    assert {"limit", "offset", "total", "statuses[]", "include[]", "since", "until", "sort_by",
            "time_zone", "date_range"} <= set(incidents)
    assert incidents["statuses[]"]["schema"]["type"] == "array"
    assert incidents["statuses[]"]["style"] == "form" and incidents["statuses[]"]["explode"] is True
    assert incidents["limit"]["schema"]["maximum"] == 100
    assert _query_parameters(ours["/services"]["get"])["query"]["schema"]["maxLength"] == 255
    # Tocsin's own list routes document their paging too.
    assert {"limit", "offset", "total"} <= set(_query_parameters(ours["/api_keys"]["get"]))
    assert {"limit", "offset", "total"} <= set(
        _query_parameters(ours["/maintenance_windows/{window_id}/suppressed_events"]["get"]))


async def test_documented_parameters_are_read_by_the_route(harness: Harness) -> None:
    """Spot checks that documented enum parameters are the ones the code reads: a value outside
    the documented enum is refused."""
    bad_status = await harness.client.get("/incidents", params={"statuses[]": "sleeping"}, headers=harness.auth)
    assert bad_status.status_code == 400
    bad_filter = await harness.client.get("/maintenance_windows", params={"filter": "someday"}, headers=harness.auth)
    assert bad_filter.status_code == 400
