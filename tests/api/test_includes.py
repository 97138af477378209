"""``include[]`` on every route that takes it (tocsin.http.includes).

Each route keeps the values PagerDuty documents for its operation next to itself; here each tuple
is compared with the ``include[]`` enum of PagerDuty's OpenAPI file, so a change on either side
shows. Every documented value is answered with a 200 (expanded where Tocsin has the data), an
undocumented one with a 400, and each answer is checked against PagerDuty's response schema.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import Harness, PgDatabase, PgSnapshot, make_settings
from tests.contract import assert_conforms, spec_or_skip
from tests.helpers import assert_error
from tocsin.api.app import Tocsin
from tocsin.auth.logic import issue_api_key
from tocsin.bootstrap import InitResult
from tocsin.escalation import routes as escalation
from tocsin.incidents import log_routes
from tocsin.incidents import routes as incidents
from tocsin.maintenance import routes as maintenance
from tocsin.notifications import routes as notifications
from tocsin.schedules import routes as schedules
from tocsin.services import routes as services
from tocsin.teams import routes as teams
from tocsin.users import routes as users

# (PagerDuty's path, Tocsin's URL with the world's ids, the tuple the route keeps)
ROUTES: list[tuple[str, str, tuple[str, ...]]] = [
    ("/services", "/services", services.LIST_INCLUDES),
    ("/services/{id}", "/services/{service}", services.SERVICE_INCLUDES),
    ("/services/{id}/integrations/{integration_id}", "/services/{service}/integrations/{integration}",
     services.INTEGRATION_INCLUDES),
    ("/incidents", "/incidents", incidents.LIST_INCLUDES),
    ("/incidents/{id}", "/incidents/{incident}", incidents.INCIDENT_INCLUDES),
    ("/incidents/{id}/alerts", "/incidents/{incident}/alerts", incidents.ALERT_INCLUDES),
    ("/incidents/{id}/log_entries", "/incidents/{incident}/log_entries", log_routes.LOG_ENTRY_INCLUDES),
    ("/log_entries", "/log_entries", log_routes.LOG_ENTRY_INCLUDES),
    ("/log_entries/{id}", "/log_entries/{log_entry}", log_routes.LOG_ENTRY_INCLUDES),
    ("/escalation_policies", "/escalation_policies", escalation.POLICY_INCLUDES),
    ("/escalation_policies/{id}", "/escalation_policies/{policy}", escalation.POLICY_INCLUDES),
    ("/oncalls", "/oncalls", escalation.ONCALL_INCLUDES),
    ("/schedules", "/schedules", schedules.LIST_INCLUDES),
    ("/teams/{id}", "/teams/{team}", teams.TEAM_INCLUDES),
    ("/teams/{id}/members", "/teams/{team}/members", teams.MEMBER_INCLUDES),
    ("/users", "/users", users.LIST_INCLUDES),
    ("/users/{id}", "/users/{user}", users.USER_INCLUDES),
    ("/users/me", "/users/me", users.USER_INCLUDES),
    ("/users/{id}/notification_rules", "/users/{user}/notification_rules", users.RULE_INCLUDES),
    ("/users/{id}/notification_rules/{notification_rule_id}", "/users/{user}/notification_rules/{rule}",
     users.RULE_INCLUDES),
    ("/maintenance_windows", "/maintenance_windows", maintenance.WINDOW_INCLUDES),
    ("/maintenance_windows/{id}", "/maintenance_windows/{window}", maintenance.WINDOW_INCLUDES),
    ("/notifications", "/notifications", notifications.INCLUDES),
]
IDS = [spec_path for spec_path, _, _ in ROUTES]
LOG_ENTRY_PATHS = ("/log_entries", "/log_entries/{id}", "/incidents/{id}/log_entries")


def documented_includes(spec: dict[str, Any], path: str) -> tuple[str, ...] | None:
    """The ``include[]`` enum PagerDuty documents for ``GET path``; None when it takes none."""
    for param in spec["paths"][path]["get"].get("parameters", []):
        if "$ref" in param:
            param = spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
        if param.get("name") == "include[]":
            schema = param["schema"]
            return tuple(schema.get("enum") or schema["items"]["enum"])
    return None


@pytest.mark.parametrize(("spec_path", "url", "kept"), ROUTES, ids=IDS)
def test_each_routes_values_are_pagerdutys(spec_path: str, url: str, kept: tuple[str, ...]) -> None:
    assert kept == documented_includes(spec_or_skip(), spec_path)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_route_pagerduty_gives_include_is_in_the_table(tmp_path: Any) -> None:
    """A new GET route whose PagerDuty operation takes include[] must be added to ROUTES."""
    spec = spec_or_skip()
    spec_by_shape = {_shape(p): p for p, ops in spec["paths"].items() if "get" in ops}
    app = Tocsin(make_settings(f"sqlite:///{tmp_path / 'unused.db'}"), start_worker=False).rest
    try:  # FastAPI >= 0.16x keeps included routers nested; this flattens them with their paths
        from fastapi.routing import iter_route_contexts
        entries: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:
        entries = list(app.routes)
    served = {_shape(r.path) for r in entries if "GET" in (getattr(r, "methods", None) or set())}
    taking = {spec_by_shape[s] for s in served if s in spec_by_shape and documented_includes(spec, spec_by_shape[s])}
    assert taking == set(IDS)


# --- against a running Tocsin -----------------------------------------------------------------


@dataclass
class World:
    """One of everything an include[] can expand, with the ids the URLs need."""

    ids: dict[str, str]

    def url(self, template: str) -> str:
        return template.format(**self.ids)

    def headers(self, h: Harness, template: str) -> dict[str, str]:
        if template == "/users/me":
            return {**h.auth, "Authorization": f"Token token={self.ids['user_key']}"}
        return h.auth


async def _ok(h: Harness, method: str, path: str, body: Any, status: int = 201) -> dict[str, Any]:
    r = await h.client.request(method, path, headers=h.writer, json=body)
    assert r.status_code == status, r.text
    return r.json() if r.content else {}


async def build_world(h: Harness) -> dict[str, str]:
    service = (await _ok(h, "GET", f"/services/{h.seed.service_id}", None, 200))["service"]
    user = (await _ok(h, "GET", "/users", None, 200))["users"][0]["id"]
    async with h.tocsin.db.transaction() as session:  # /users/me needs a key that acts as a user
        user_key = await issue_api_key(session, datetime.now(UTC), description="include[] tests", user_id=user)
    team = (await _ok(h, "POST", "/teams", {"team": {"type": "team", "name": "Ops"}}))["team"]["id"]
    await _ok(h, "PUT", f"/teams/{team}/users/{user}", None, 204)
    await _ok(h, "PUT", f"/teams/{team}/escalation_policies/{h.seed.escalation_policy_id}", None, 204)
    now = datetime.now(UTC)
    await _ok(h, "POST", "/schedules", {"schedule": {"name": "Primary", "time_zone": "Etc/UTC", "schedule_layers": [{
        "start": (now - timedelta(days=1)).isoformat(), "rotation_virtual_start": (now - timedelta(days=1)).isoformat(),
        "rotation_turn_length_seconds": 86400, "users": [{"user": {"id": user, "type": "user_reference"}}]}]}})
    r = await h.send(h.event(links=[{"href": "https://example.com/graph", "text": "Graph"}],
                             images=[{"src": "https://example.com/cpu.png", "alt": "CPU"}]))
    assert r.status_code == 202, r.text
    await h.process()
    incident = (await _ok(h, "GET", "/incidents", None, 200))["incidents"][0]["id"]
    log_entry = (await _ok(h, "GET", f"/incidents/{incident}/log_entries", None, 200))["log_entries"][0]["id"]
    start = now + timedelta(days=1)  # in the future, so the event above was not held back
    window = (await _ok(h, "POST", "/maintenance_windows", {"maintenance_window": {
        "type": "maintenance_window", "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
        "services": [{"id": service["id"], "type": "service_reference"}]}}))["maintenance_window"]["id"]
    method = (await _ok(h, "POST", f"/users/{user}/contact_methods", {"contact_method": {
        "type": "phone_contact_method", "label": "Mobile", "address": "5551234567", "country_code": 1,
    }}))["contact_method"]
    rule = (await _ok(h, "POST", f"/users/{user}/notification_rules", {"notification_rule": {
        "type": "assignment_notification_rule", "start_delay_in_minutes": 0, "urgency": "high",
        "contact_method": {"id": method["id"], "type": "phone_contact_method_reference"}}}))["notification_rule"]
    return {"user_key": user_key, "service": service["id"], "integration": service["integrations"][0]["id"],
            "incident": incident, "log_entry": log_entry, "policy": h.seed.escalation_policy_id or "", "team": team,
            "user": user, "rule": rule["id"], "window": window}


async def _build_on(db_url: str, seed: InitResult) -> dict[str, str]:
    settings = make_settings(db_url)
    tocsin = Tocsin(settings, start_worker=False)
    transport = httpx.ASGITransport(app=tocsin)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            return await build_world(Harness(tocsin, client, replace(seed, url=settings.base_url), db_url))
    finally:
        await tocsin.committer.close()
        await tocsin.db.dispose()


@dataclass(frozen=True)
class Built:
    """A world built on one kind of database: its ids and the database holding it."""

    ids: dict[str, str]
    sqlite_file: Path | None = None
    pg: PgSnapshot | None = None


@pytest.fixture(scope="module")
def built_worlds() -> dict[str, Built]:
    return {}


@pytest.fixture
def init_result(
    request: pytest.FixtureRequest, init_result: InitResult, db_url: str, built_worlds: dict[str, Built],
    tmp_path_factory: pytest.TempPathFactory,
) -> InitResult:
    """The test's database as ``tocsin init`` leaves it plus the world: built through the API once
    a module for each kind of database, then copied for every test (the tests here only read;
    building it took more than the rest of a test)."""
    backend = "sqlite" if db_url.startswith("sqlite") else "postgres"
    pg: PgDatabase | None = request.getfixturevalue("pg_database") if backend == "postgres" else None
    sqlite_file = None if pg else Path(str(make_url(db_url).database))
    built = built_worlds.get(backend)
    if built is None:
        ids = asyncio.run(_build_on(db_url, init_result))
        if pg is not None:
            built_worlds[backend] = Built(ids, pg=pg.snapshot())
        else:
            assert sqlite_file is not None
            kept = tmp_path_factory.mktemp("world") / "world.db"
            shutil.copy(sqlite_file, kept)
            built_worlds[backend] = Built(ids, sqlite_file=kept)
    elif pg is not None:
        assert built.pg is not None
        pg.restore(built.pg)
    else:
        assert built.sqlite_file is not None and sqlite_file is not None
        shutil.copy(built.sqlite_file, sqlite_file)
    return init_result


@pytest.fixture
def world(init_result: InitResult, db_url: str, built_worlds: dict[str, Built]) -> World:
    return World(built_worlds["sqlite" if db_url.startswith("sqlite") else "postgres"].ids)


@pytest.mark.parametrize(("spec_path", "template", "documented"), ROUTES, ids=IDS)
async def test_every_documented_value_is_answered(
    harness: Harness, world: World, spec_path: str, template: str, documented: tuple[str, ...]
) -> None:
    url, headers = world.url(template), world.headers(harness, template)
    for value in documented:
        r = await harness.client.get(url, headers=headers, params={"include[]": value})
        assert r.status_code == 200, (value, r.text)
    r = await harness.client.get(url, headers=headers, params={"include[]": list(documented)})
    if spec_path in LOG_ENTRY_PATHS:  # checked apart, in test_log_entries_conform (a known defect)
        assert r.status_code == 200, r.text
    else:
        assert_conforms(r, "GET", spec_path, 200, expanded=True)


@pytest.mark.parametrize(("spec_path", "template", "documented"), ROUTES, ids=IDS)
async def test_undocumented_values_are_refused(
    harness: Harness, world: World, spec_path: str, template: str, documented: tuple[str, ...]
) -> None:
    r = await harness.client.get(world.url(template), headers=world.headers(harness, template),
                                 params={"include[]": [documented[0], "everything"]})
    error = assert_error(r, 400, 2001)
    assert "everything" in " ".join(error["errors"]) and documented[0] in " ".join(error["errors"])


async def test_pd_cli_service_list_include_is_answered(harness: Harness, world: World) -> None:
    """`pd service list` sends include[]=auto_pause_notifications_parameters; it was a 400."""
    r = await harness.client.get("/services", headers=harness.auth,
                                 params={"include[]": ["escalation_policies", "teams",
                                                       "auto_pause_notifications_parameters"]})
    assert_conforms(r, "GET", "/services", 200, expanded=True)
    [service] = r.json()["services"]
    assert service["auto_pause_notifications_parameters"] == {"enabled": False}
    assert service["escalation_policy"]["type"] == "escalation_policy"
    plain = (await harness.client.get("/services", headers=harness.auth)).json()["services"][0]
    assert "auto_pause_notifications_parameters" not in plain


async def test_service_integrations_expand(harness: Harness, world: World) -> None:
    one = (await harness.client.get(world.url("/services/{service}"), headers=harness.auth,
                                    params={"include[]": "integrations"})).json()["service"]
    [integration] = one["integrations"]
    assert integration["type"] == "events_api_v2_inbound_integration"
    assert integration["integration_key"] == harness.routing_key
    assert integration["service"]["id"] == world.ids["service"]
    plain = (await harness.client.get(world.url("/services/{service}"), headers=harness.auth)).json()["service"]
    assert plain["integrations"][0]["type"] == "events_api_v2_inbound_integration_reference"
    assert "integration_key" not in plain["integrations"][0]


async def test_integration_service_expands(harness: Harness, world: World) -> None:
    url = world.url("/services/{service}/integrations/{integration}")
    r = await harness.client.get(url, headers=harness.auth, params={"include[]": ["services", "vendors"]})
    assert r.status_code == 200, r.text
    expanded = r.json()["integration"]["service"]
    assert (expanded["type"], expanded["id"]) == ("service", world.ids["service"]) and expanded["name"]
    plain = (await harness.client.get(url, headers=harness.auth)).json()["integration"]
    assert plain["service"]["type"] == "service_reference"


async def test_alerts_expand_incident_and_service(harness: Harness, world: World) -> None:
    url = world.url("/incidents/{incident}/alerts")
    [alert] = (await harness.client.get(url, headers=harness.auth,
                                        params={"include[]": ["incidents", "services"]})).json()["alerts"]
    assert (alert["incident"]["type"], alert["incident"]["id"]) == ("incident", world.ids["incident"])
    assert alert["incident"]["status"] == "triggered"
    assert alert["service"]["type"] == "service"
    [plain] = (await harness.client.get(url, headers=harness.auth)).json()["alerts"]
    assert (plain["incident"]["type"], plain["service"]["type"]) == ("incident_reference", "service_reference")


async def test_log_entries_expand_incidents(harness: Harness, world: World) -> None:
    for url in (world.url("/log_entries/{log_entry}"), "/log_entries", world.url("/incidents/{incident}/log_entries")):
        r = await harness.client.get(url, headers=harness.auth, params={"include[]": ["incidents", "services"]})
        assert r.status_code == 200, r.text
        body = r.json()
        entry = body["log_entry"] if "log_entry" in body else body["log_entries"][0]
        assert (entry["incident"]["type"], entry["incident"]["id"]) == ("incident", world.ids["incident"]), url
        assert entry["incident"]["incident_number"] == 1
        assert entry["service"]["type"] == "service", url


@pytest.mark.parametrize("spec_path", LOG_ENTRY_PATHS)
async def test_log_entries_conform(harness: Harness, world: World, spec_path: str) -> None:
    url = {"/log_entries": "/log_entries", "/log_entries/{id}": world.url("/log_entries/{log_entry}"),
           "/incidents/{id}/log_entries": world.url("/incidents/{incident}/log_entries")}[spec_path]
    # expanded: also lets a channel match several of the schema's oneOf branches, which any
    # channel object does (PagerDuty's branches are not exclusive).
    r = await harness.client.get(url, headers=harness.auth, params={"include[]": ["incidents", "services"]})
    assert_conforms(r, "GET", spec_path, 200, expanded=True)


async def test_a_flood_of_unknown_values_gets_a_short_refusal(harness: Harness) -> None:
    # One comma list, to fit httpx's 64 KB query limit; the server reads a longer one just the same.
    values = [f"b{i:04}" for i in range(6_000)] + ["x" * 1000]
    r = await harness.client.get("/services", headers=harness.auth, params={"include[]": ",".join(values)})
    [message] = assert_error(r, 400, 2001)["errors"]
    assert message.startswith("include[] b0000, b0001, b0002, b0003, b0004 and 5996 more is not supported here")
    assert len(r.content) < 1000
    r = await harness.client.get("/services", headers=harness.auth, params={"include[]": "x" * 5000})
    [message] = assert_error(r, 400, 2001)["errors"]
    assert message.startswith("include[] " + "x" * 40 + "… is not supported here") and len(r.content) < 1000
