"""Authentication and access on every REST route (SPEC-NOTES 2): the route table is walked so a
new route that forgets ``Depends(require(...))`` fails here."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.api.helpers import rest_routes
from tests.auth.tokens import oauth_token
from tests.conftest import Harness
from tests.helpers import assert_error, default_policy
from tocsin.auth.logic import issue_api_key
from tocsin.services.models import Service

ACCEPT = "application/vnd.pagerduty+json;version=2"
PLACEHOLDER_ID = "PXXXXXX"
WRONG_KEY = "y_wrongwrongwrong_zz"  # 20 characters, like a real key, but never issued
assert len(WRONG_KEY) == 20

# Routes that must exist: proves the walk below actually found the API, whatever FastAPI's
# internal route layout (0.16x nests included routers).
KNOWN = {
    ("GET", "/services"), ("POST", "/services"), ("GET", "/services/{service_id}"),
    ("PUT", "/services/{service_id}"), ("DELETE", "/services/{service_id}"),
    ("POST", "/services/{service_id}/integrations"),
    ("GET", "/services/{service_id}/integrations/{integration_id}"),
    ("PUT", "/services/{service_id}/integrations/{integration_id}"),
    ("DELETE", "/services/{service_id}/integrations/{integration_id}"),
    ("GET", "/incidents"), ("GET", "/incidents/{incident_id}"), ("PUT", "/incidents/{incident_id}"),
    ("GET", "/incidents/{incident_id}/alerts"), ("GET", "/incidents/{incident_id}/log_entries"),
    ("GET", "/log_entries"), ("GET", "/log_entries/{log_entry_id}"),
    ("GET", "/change_events"), ("GET", "/change_events/{change_event_id}"),
    ("GET", "/schedules"), ("POST", "/schedules"), ("POST", "/schedules/preview"),
    ("GET", "/schedules/{schedule_id}"), ("PUT", "/schedules/{schedule_id}"),
    ("DELETE", "/schedules/{schedule_id}"), ("GET", "/schedules/{schedule_id}/users"),
    ("GET", "/schedules/{schedule_id}/overrides"), ("POST", "/schedules/{schedule_id}/overrides"),
    ("DELETE", "/schedules/{schedule_id}/overrides/{override_id}"),
    ("GET", "/audit/records"), ("GET", "/users/{id}/audit/records"), ("GET", "/services/{id}/audit/records"),
    ("GET", "/schedules/{id}/audit/records"), ("GET", "/escalation_policies/{id}/audit/records"),
    ("GET", "/teams/{id}/audit/records"), ("GET", "/abilities"), ("GET", "/abilities/{id}"),
    ("GET", "/api_keys"), ("POST", "/api_keys"), ("GET", "/api_keys/{key_id}"), ("DELETE", "/api_keys/{key_id}"),
    ("GET", "/oauth_clients"), ("POST", "/oauth_clients"), ("GET", "/oauth_clients/{client_id}"),
    ("DELETE", "/oauth_clients/{client_id}"),
}


def scopes_of(dependant: Any) -> list[str]:
    scopes, stack = [], [dependant]
    while stack:
        node = stack.pop()
        scope = getattr(node.call, "required_scope", None)
        if scope is not None:
            scopes.append(scope)
        stack.extend(node.dependencies)
    return scopes


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", PLACEHOLDER_ID, path)


async def request(h: Harness, method: str, url: str, authorization: str | None) -> Any:
    headers = {"Accept": ACCEPT, "From": h.seed.admin_email}
    if authorization is not None:
        headers["Authorization"] = authorization
    # Writes carry a well-formed JSON body so the credential is the only thing wrong.
    return await h.client.request(method, url, headers=headers, json=None if method == "GET" else {})


async def read_only_key(h: Harness) -> str:
    async with h.tocsin.db.transaction() as session:
        return await issue_api_key(session, datetime.now(UTC), description="ro", read_only=True)


async def test_route_walk_finds_the_whole_api(harness: Harness) -> None:
    found = {(m, p) for m, p, _ in rest_routes(harness.tocsin.rest)}
    assert found >= KNOWN, f"missing from the walk: {sorted(KNOWN - found)}"


async def test_every_route_declares_a_scope_matching_its_method(harness: Harness) -> None:
    problems = []
    for method, path, dependant in rest_routes(harness.tocsin.rest):
        scopes = scopes_of(dependant)
        if not scopes:
            problems.append(f"{method} {path}: no dependency carries required_scope")
            continue
        for scope in scopes:
            if not re.fullmatch(r"[a-z_]+(:[a-z_]+)?\.(read|write)", scope):
                problems.append(f"{method} {path}: malformed scope {scope!r}")
        wanted = ".read" if method == "GET" else ".write"
        if not any(s.endswith(wanted) for s in scopes):
            problems.append(f"{method} {path}: scopes {scopes} lack a *{wanted} scope")
    assert problems == []


BAD_CREDENTIALS = [
    None,
    "Token abc",
    "Basic dXNlcjpwYXNzd29yZA==",
    f"Token token={WRONG_KEY}",
    f"Bearer {WRONG_KEY}",
]


async def test_every_route_refuses_missing_malformed_and_wrong_credentials(harness: Harness) -> None:
    failures = []
    for method, path, _ in rest_routes(harness.tocsin.rest):
        for authorization in BAD_CREDENTIALS:
            r = await request(harness, method, concrete(path), authorization)
            try:
                assert_error(r, 401, 2006)
            except AssertionError:
                failures.append(f"{method} {path} [{authorization!r}] -> {r.status_code} {r.text[:200]}")
    assert failures == []


async def test_credentials_are_checked_before_the_body(harness: Harness) -> None:
    """Without a valid credential a write learns nothing about its body: 401, not 400."""
    failures = []
    for method, path, _ in rest_routes(harness.tocsin.rest):
        if method == "GET":
            continue
        for authorization in (None, f"Token token={WRONG_KEY}"):
            headers = {"Content-Type": "application/json"}
            if authorization is not None:
                headers["Authorization"] = authorization
            r = await harness.client.request(method, concrete(path), headers=headers, content=b"{not json")
            if r.status_code != 401 or r.json()["error"]["code"] != 2006:
                failures.append(f"{method} {path} [{authorization!r}] -> {r.status_code} {r.text[:120]}")
    assert failures == []


async def test_every_route_refuses_an_oauth_token_lacking_its_scope(harness: Harness) -> None:
    """Scopes are checked on every route: a valid token without the route's scope gets 403."""
    routes = rest_routes(harness.tocsin.rest)
    # A scope no route declares, so the token is valid but entitled to nothing here.
    token = await oauth_token(harness, ["vendors.read"])
    failures = []
    for method, path, _ in routes:
        r = await request(harness, method, concrete(path), f"Bearer {token}")
        try:
            assert_error(r, 403, 2010)
        except AssertionError:
            failures.append(f"{method} {path} -> {r.status_code} {r.text[:200]}")
    assert failures == []


async def test_an_oauth_token_with_the_route_scope_passes_the_scope_check(harness: Harness) -> None:
    """The converse: holding exactly the declared scope is enough to get past access control."""
    by_scope: dict[str, list[tuple[str, str]]] = {}
    for method, path, dependant in rest_routes(harness.tocsin.rest):
        for scope in scopes_of(dependant):
            by_scope.setdefault(scope, []).append((method, path))
    assert "incidents.write" in by_scope and "audit_records.read" in by_scope
    failures = []
    for scope, routes in sorted(by_scope.items()):
        auth = f"Bearer {await oauth_token(harness, [scope])}"
        for method, path in routes:
            r = await request(harness, method, concrete(path), auth)
            refused = r.status_code == 401 or (r.status_code == 403 and scope in r.text)
            if refused:
                failures.append(f"{method} {path} [{scope}] -> {r.status_code} {r.text[:200]}")
    assert failures == []


@pytest.mark.parametrize("template", [
    "Token {k}",             # no token=
    "Token token=",          # empty key
    "Token token={k}x",      # key plus a character
    "Token token={short}",   # key minus a character
    "{k}",                   # no scheme
    "Bearer",                # no credential
    "Basic {k}",             # unknown scheme
    "Token: token={k}",      # scheme garbled
])
async def test_malformed_authorization_headers_are_refused(harness: Harness, template: str) -> None:
    key = harness.seed.api_key
    assert key is not None
    header = template.format(k=key, short=key[:-1])
    r = await harness.client.get("/services", headers={"Authorization": header, "Accept": ACCEPT})
    assert_error(r, 401, 2006)


@pytest.mark.parametrize("template", ["Token token={k}", "Bearer {k}", "token token={k}", "bearer {k}",
                                      "Token  token={k} "])
async def test_both_authorization_forms_work_for_reads_and_writes(harness: Harness, template: str) -> None:
    headers = {"Authorization": template.format(k=harness.seed.api_key), "Accept": ACCEPT}
    r = await harness.client.get("/services", headers=headers)
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()["services"]] == [harness.seed.service_id]
    body = {"service": {"name": "via " + template, "escalation_policy": default_policy(harness)}}
    r = await harness.client.post("/services", headers=headers, json=body)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("form", ["Token token={k}", "Bearer {k}"])
async def test_read_only_key_reads_but_every_write_is_denied(harness: Harness, form: str) -> None:
    auth = form.format(k=await read_only_key(harness))
    failures = []
    for method, path, _ in rest_routes(harness.tocsin.rest):
        r = await request(harness, method, concrete(path), auth)
        if method == "GET":
            # A read of a placeholder id finds nothing (404); a collection is read (200); /users/me
            # names no user for an account key, where PagerDuty answers 400.
            expected = 400 if path == "/users/me" else 404 if "{" in path else 200
            if r.status_code != expected:
                failures.append(f"{method} {path} -> {r.status_code}, not {expected}: {r.text[:200]}")
            continue
        try:
            assert_error(r, 403, 2010)
        except AssertionError:
            failures.append(f"{method} {path} -> {r.status_code} {r.text[:200]}")
    assert failures == []
    # A concrete read works and returns data.
    r = await harness.client.get(f"/services/{harness.seed.service_id}", headers={"Authorization": auth})
    assert r.status_code == 200 and r.json()["service"]["id"] == harness.seed.service_id


async def test_read_only_key_writes_nothing(harness: Harness) -> None:
    auth = {"Authorization": f"Token token={await read_only_key(harness)}", "Accept": ACCEPT}
    sid = harness.seed.service_id
    attempts = [
        ("POST", "/services", {"service": {"name": "sneaky"}}),
        ("PUT", f"/services/{sid}", {"service": {"name": "renamed"}}),
        ("DELETE", f"/services/{sid}", None),
        ("POST", f"/services/{sid}/integrations", {"integration": {"type": "events_api_v2_inbound_integration"}}),
    ]
    for method, url, body in attempts:
        assert_error(await harness.client.request(method, url, headers=auth, json=body), 403, 2010)
    async with harness.tocsin.db.transaction() as session:
        names = list((await session.execute(select(Service.name).where(Service.deleted_at.is_(None)))).scalars())
        count = (await session.execute(select(func.count()).select_from(Service))).scalar_one()
    assert count == 1 and names != ["renamed"] and "sneaky" not in names
    r = await harness.client.get(f"/services/{sid}", headers=harness.auth)
    assert r.status_code == 200 and r.json()["service"]["integrations"] != []
    assert len(r.json()["service"]["integrations"]) == 1


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/nope"),
    ("GET", "/services/PXXXXXX/nope"),
    ("POST", "/incidentz"),
    ("GET", "/api/v2/services"),
])
async def test_unknown_route_is_404_with_pagerduty_error_shape(harness: Harness, method: str, path: str) -> None:
    r = await harness.client.request(method, path, headers=harness.auth)
    error = assert_error(r, 404, 2100)
    assert r.headers["content-type"].startswith("application/json")
    assert error["message"] == "Not Found"
