"""OAuth 2.0 client credentials: clients, the token endpoint (RFC 6749) and scoped tokens."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import Harness
from tests.helpers import assert_error
from tocsin.clock import FrozenClock

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def new_client(h: Harness, scopes: list[str], name: str = "Grafana") -> dict[str, Any]:
    r = await h.client.post("/oauth_clients", headers=h.writer,
                            json={"oauth_client": {"name": name, "scopes": scopes}})
    assert r.status_code == 201, r.text
    client = r.json()["oauth_client"]
    assert client["client_id"] == client["id"] and len(client["client_secret"]) >= 32
    return client


async def token_for(h: Harness, client: dict[str, Any], scope: str | None = None) -> Any:
    form = {"grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"]}
    if scope is not None:
        form["scope"] = scope
    return await h.client.post("/oauth/token", data=form)


async def test_token_answer_is_rfc_6749_and_the_token_carries_its_scopes(harness: Harness) -> None:
    client = await new_client(harness, ["services.read", "incidents.write"])
    r = await token_for(harness, client, "services.read incidents.write as_account-us.acme")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["scope"].split() == ["incidents.write", "services.read"]
    assert len(body["access_token"]) > 20  # never mistaken for an API key
    assert r.headers["cache-control"] == "no-store"
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await harness.client.get("/services", headers=auth)).status_code == 200
    # incidents.write does not grant incidents.read (PagerDuty lists them separately).
    assert_error(await harness.client.get("/incidents", headers=auth), 403, 2010)
    r = await harness.client.put("/incidents/PXXXXXX", headers={**auth, "From": harness.seed.admin_email},
                                 json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
    assert_error(r, 404, 2100)
    # OAuth tokens are Bearer only.
    assert_error(await harness.client.get("/services",
                                          headers={"Authorization": f"Token token={body['access_token']}"}), 401, 2006)


async def test_no_scope_asked_grants_all_the_clients_scopes_and_broad_read_covers_reads(harness: Harness) -> None:
    client = await new_client(harness, ["read"])
    body = (await token_for(harness, client)).json()
    assert body["scope"] == "read"
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await harness.client.get("/incidents", headers=auth)).status_code == 200
    assert (await harness.client.get("/audit/records", headers=auth)).status_code == 200
    assert_error(await harness.client.get("/api_keys", headers=auth), 403, 2010)  # credentials: named only
    assert_error(await harness.client.post("/services", headers=auth, json={"service": {}}), 403, 2010)
    narrowed = (await token_for(harness, client, "incidents.read")).json()
    assert narrowed["scope"] == "incidents.read"


async def test_http_basic_client_authentication(harness: Harness) -> None:
    client = await new_client(harness, ["services.read"])
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    r = await harness.client.post("/oauth/token", headers={"Authorization": f"Basic {basic}"},
                                  data={"grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    wrong = base64.b64encode(f"{client['client_id']}:nope".encode()).decode()
    r = await harness.client.post("/oauth/token", headers={"Authorization": f"Basic {wrong}"},
                                  data={"grant_type": "client_credentials"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(("form", "status", "error"), [
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "PNOSUCHCLIENT"}, 401, "invalid_client"),
    ({"client_id": "x" * 500}, 401, "invalid_client"),
    ({"client_secret": ""}, 401, "invalid_client"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ({"grant_type": ""}, 400, "invalid_request"),
    ({"scope": "incidents.write"}, 400, "invalid_scope"),
    ({"scope": "write"}, 400, "invalid_scope"),
    ({"scope": "services.read nonsense"}, 400, "invalid_scope"),
])
async def test_token_errors(harness: Harness, form: dict[str, str], status: int, error: str) -> None:
    client = await new_client(harness, ["services.read"])
    base = {"grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"]}
    r = await harness.client.post("/oauth/token", data={**base, **form})
    assert r.status_code == status, r.text
    assert r.json()["error"] == error and r.json()["error_description"]
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("content", "headers"), [
    (b'{"grant_type": "client_credentials"}', {"Content-Type": "application/json"}),
    (b"grant_type=client_credentials&grant_type=client_credentials", FORM),
    (b"grant_type=client_credentials&client_id=%00", FORM),
    (b"\xff\xfe", FORM),
    (b"a" * 20000, FORM),
])
async def test_malformed_token_requests_are_invalid_request(harness: Harness, content: bytes, headers: dict) -> None:
    r = await harness.client.post("/oauth/token", content=content, headers=headers)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text


async def test_tokens_expire_even_when_cached(harness: Harness) -> None:
    clock = FrozenClock(datetime.now(UTC))
    harness.tocsin.runtime.clock = clock
    client = await new_client(harness, ["services.read"])
    token = (await token_for(harness, client)).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert (await harness.client.get("/services", headers=auth)).status_code == 200
    clock.advance(seconds=3599)
    assert (await harness.client.get("/services", headers=auth)).status_code == 200
    clock.advance(seconds=1)
    assert_error(await harness.client.get("/services", headers=auth), 401, 2006)


async def test_revoking_a_client_kills_its_tokens_and_grants(harness: Harness) -> None:
    client = await new_client(harness, ["services.read"])
    token = (await token_for(harness, client)).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert (await harness.client.get("/services", headers=auth)).status_code == 200
    assert (await harness.client.delete(f"/oauth_clients/{client['id']}", headers=harness.writer)).status_code == 204
    assert_error(await harness.client.get("/services", headers=auth), 401, 2006)
    r = await token_for(harness, client)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    shown = (await harness.client.get(f"/oauth_clients/{client['id']}", headers=harness.auth)).json()
    assert shown["oauth_client"]["revoked_at"] is not None and "client_secret" not in shown["oauth_client"]
    assert_error(await harness.client.delete(f"/oauth_clients/{client['id']}", headers=harness.writer), 404, 2100)


@pytest.mark.parametrize(("body", "field"), [
    ({"oauth_client": {"scopes": ["read"]}}, "oauth_client.name"),
    ({"oauth_client": {"name": "", "scopes": ["read"]}}, "oauth_client.name"),
    ({"oauth_client": {"name": "x"}}, "oauth_client.scopes"),
    ({"oauth_client": {"name": "x", "scopes": []}}, "oauth_client.scopes"),
    ({"oauth_client": {"name": "x", "scopes": "read"}}, "oauth_client.scopes"),
    ({"oauth_client": {"name": "x", "scopes": ["incidents.admin"]}}, "oauth_client.scopes"),
    ({"oauth_client": {"name": "x", "scopes": [7]}}, "oauth_client.scopes"),
    ({}, "oauth_client"),
])
async def test_bad_client_input_is_400_and_writes_nothing(harness: Harness, body: dict, field: str) -> None:
    error = assert_error(await harness.client.post("/oauth_clients", headers=harness.writer, json=body), 400, 2001)
    assert any(field in e for e in error["errors"]), error
    listed = (await harness.client.get("/oauth_clients?total=true", headers=harness.auth)).json()
    assert listed["total"] == 0 and listed["oauth_clients"] == []


@pytest.mark.parametrize(("method", "path"), [("GET", "/oauth_clients/PXXXXXX"), ("DELETE", "/oauth_clients/PXXXXXX")])
async def test_unknown_client_is_404(harness: Harness, method: str, path: str) -> None:
    assert_error(await harness.client.request(method, path, headers=harness.writer), 404, 2100)


async def test_changes_through_a_token_are_audited_as_the_app(harness: Harness) -> None:
    # Minting an account key needs every scope such a key has (test_credential_escalation).
    client = await new_client(harness, ["read", "write", "api_keys.read", "api_keys.write", "oauth_clients.read",
                                        "oauth_clients.write"], name="Key robot")
    token = (await token_for(harness, client)).json()["access_token"]
    r = await harness.client.post("/api_keys", headers={"Authorization": f"Bearer {token}"},
                                  json={"api_key": {"description": "minted by robot"}})
    assert r.status_code == 201, r.text
    records = (await harness.client.get("/audit/records?method_type=oauth", headers=harness.auth)).json()["records"]
    assert len(records) == 1
    assert records[0]["actors"][0] == {"id": client["id"], "type": "app_reference", "summary": "Key robot"}
    assert records[0]["method"]["type"] == "oauth" and records[0]["method"]["truncated_token"] == token[-4:]
    created = (await harness.client.get("/audit/records?actor_type=api_key_reference", headers=harness.auth)).json()
    assert client["id"] in [r["root_resource"]["id"] for r in created["records"]]  # the client's own creation


@pytest.mark.parametrize("credentials", [b"%00:secret", b"PX:%00", b"P%00X:s"])
async def test_nul_in_basic_credentials_is_invalid_client(harness: Harness, credentials: bytes) -> None:
    basic = base64.b64encode(credentials).decode()
    r = await harness.client.post("/oauth/token", headers={"Authorization": f"Basic {basic}"},
                                  data={"grant_type": "client_credentials"})
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client" and r.headers["cache-control"] == "no-store"
    # RFC 6749 5.2: a client that tried Basic gets the challenge, even when its header was malformed.
    assert r.headers["www-authenticate"].startswith("Basic")


async def test_malformed_basic_header_gets_the_challenge(harness: Harness) -> None:
    r = await harness.client.post("/oauth/token", headers={"Authorization": "Basic !!!notbase64"},
                                  data={"grant_type": "client_credentials"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")
