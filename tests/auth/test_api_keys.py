"""User and account API keys: the /api_keys extension and ``tocsin api-key``."""

from __future__ import annotations

import asyncio
import re

import pytest
from typer.testing import CliRunner, Result

from tests.auth.tokens import another_process, user_with_key
from tests.conftest import Harness
from tests.helpers import assert_error, default_policy
from tocsin.cli import app as cli


async def _create(h: Harness, body: dict) -> dict:
    r = await h.client.post("/api_keys", headers=h.writer, json={"api_key": body})
    assert r.status_code == 201, r.text
    return r.json()["api_key"]


async def test_account_key_is_shown_once_and_works(harness: Harness) -> None:
    key = await _create(harness, {"description": "CI bot"})
    assert len(key["token"]) == 20 and key["key_type"] == "account" and key["user"] is None
    assert key["truncated_token"] == key["token"][-4:] and key["type"] == "api_key"
    r = await harness.client.get(f"/api_keys/{key['id']}", headers=harness.auth)
    assert r.status_code == 200 and "token" not in r.json()["api_key"] and key["token"] not in r.text
    assert r.json()["api_key"]["description"] == "CI bot"
    listed = (await harness.client.get("/api_keys", headers=harness.auth)).json()
    assert key["id"] in [k["id"] for k in listed["api_keys"]] and key["token"] not in str(listed)
    auth = {"Authorization": f"Bearer {key['token']}"}
    service = {"name": "made by bot", "escalation_policy": default_policy(harness)}
    r = await harness.client.post("/services", headers=auth, json={"service": service})
    assert r.status_code == 201, r.text


async def test_user_key_acts_as_its_user_with_its_role(harness: Harness) -> None:
    _, admin_key = await user_with_key(harness, "admin")
    observer_id, _ = await user_with_key(harness, "observer")
    key = await _create(harness, {"type": "user", "user": {"id": observer_id, "type": "user_reference"}})
    assert key["key_type"] == "user" and key["user"]["id"] == observer_id
    assert key["user"]["type"] == "user_reference"
    auth = {"Authorization": f"Token token={key['token']}"}
    assert (await harness.client.get("/services", headers=auth)).status_code == 200
    assert_error(await harness.client.post("/services", headers=auth, json={"service": {"name": "no"}}), 403, 2010)
    # Observers cannot mint keys; admins can.
    assert_error(await harness.client.post("/api_keys", headers=auth, json={"api_key": {}}), 403, 2010)
    r = await harness.client.post("/api_keys", headers={"Authorization": f"Token token={admin_key}"},
                                  json={"api_key": {"description": "by an admin"}})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(("body", "field"), [
    ({"api_key": {"type": "user"}}, "api_key.user"),
    ({"api_key": {"type": "account", "user": {"id": "PXXXXXX"}}}, "api_key.user"),
    ({"api_key": {"user": {"id": "PXXXXXX"}}}, "PXXXXXX"),
    ({"api_key": {"type": "robot"}}, "api_key.type"),
    ({"api_key": {"read_only": "yes"}}, "api_key.read_only"),
    ({"api_key": {"description": "x" * 201}}, "api_key.description"),
    ({"api_key": {"user": {"id": ""}}}, "api_key.user.id"),
    ({}, "api_key"),
    ({"api_key": []}, "api_key"),
])
async def test_bad_input_is_400_naming_the_field_and_writes_nothing(harness: Harness, body: dict, field: str) -> None:
    before = (await harness.client.get("/api_keys?total=true", headers=harness.auth)).json()["total"]
    error = assert_error(await harness.client.post("/api_keys", headers=harness.writer, json=body), 400, 2001)
    assert any(field in e for e in error["errors"]), error
    assert (await harness.client.get("/api_keys?total=true", headers=harness.auth)).json()["total"] == before


async def test_revoking_takes_effect_at_once_on_this_node(harness: Harness) -> None:
    key = await _create(harness, {"description": "doomed"})
    auth = {"Authorization": f"Token token={key['token']}"}
    assert (await harness.client.get("/services", headers=auth)).status_code == 200  # now cached
    r = await harness.client.delete(f"/api_keys/{key['id']}", headers=harness.writer)
    assert r.status_code == 204
    assert_error(await harness.client.get("/services", headers=auth), 401, 2006)
    shown = (await harness.client.get(f"/api_keys/{key['id']}", headers=harness.auth)).json()["api_key"]
    assert shown["revoked_at"] is not None
    assert_error(await harness.client.delete(f"/api_keys/{key['id']}", headers=harness.writer), 404, 2100)


@pytest.mark.parametrize(("method", "path"), [("GET", "/api_keys/PXXXXXX"), ("DELETE", "/api_keys/PXXXXXX")])
async def test_unknown_key_is_404(harness: Harness, method: str, path: str) -> None:
    assert_error(await harness.client.request(method, path, headers=harness.writer), 404, 2100)


async def test_key_changes_are_audited_without_the_secret(harness: Harness) -> None:
    key = await _create(harness, {"description": "audited", "read_only": True})
    assert (await harness.client.delete(f"/api_keys/{key['id']}", headers=harness.writer)).status_code == 204
    records = (await harness.client.get("/audit/records", headers=harness.auth)).json()["records"]
    mine = [r for r in records if r["root_resource"]["id"] == key["id"]]
    assert [r["action"] for r in mine] == ["delete", "create"]
    assert mine[1]["root_resource"]["type"] == "api_key_reference"
    assert mine[1]["actors"][0]["type"] == "api_key_reference"
    fields = {f["name"]: f.get("value") for f in mine[1]["details"]["fields"]}
    assert fields["read_only"] == "true" and fields["description"] == "audited"
    assert key["token"] not in str(records)


def _cli(h: Harness, *args: str) -> Result:
    env = {"TOCSIN_DATABASE_URL": h.db_url}
    return CliRunner().invoke(cli, list(args), env=env)


async def test_cli_creates_a_read_only_user_key_lists_and_revokes_it(harness: Harness) -> None:
    result = await asyncio.to_thread(_cli, harness, "api-key", "create", "--user", harness.seed.admin_email,
                                     "--read-only")
    assert result.exit_code == 0, result.output
    created = re.search(r"API key (P\w+) \(user, read-only\): (\S{20})\n", result.output)
    assert created is not None, result.output
    key_id, secret = created.groups()
    auth = {"Authorization": f"Token token={secret}"}
    assert (await harness.client.get("/services", headers=auth)).status_code == 200
    assert_error(await harness.client.post("/services", headers=auth, json={"service": {"name": "x"}}), 403, 2010)
    listed = await asyncio.to_thread(_cli, harness, "api-key", "list")
    assert key_id in listed.output and secret not in listed.output
    revoked = await asyncio.to_thread(_cli, harness, "api-key", "revoke", key_id)
    assert revoked.exit_code == 0, revoked.output
    # Revoked by another process (the CLI): refused at once by any process that has not cached
    # it; this one drops it within the cache's TTL (tests/auth/test_credential_cache.py).
    async with another_process(harness) as other:
        assert_error(await other.get("/services", headers=auth), 401, 2006)


async def test_cli_refuses_an_unknown_user(harness: Harness) -> None:
    result = await asyncio.to_thread(_cli, harness, "api-key", "create", "--user", "nobody@example.com")
    assert result.exit_code == 1 and "nobody@example.com" in result.output
