"""No credential mints a credential with more access than it has itself (second review, R2)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.auth.tokens import oauth_token, user_with_key
from tests.conftest import Harness
from tests.helpers import assert_error
from tocsin.auth.models import ApiKey, OAuthClient

FULL = ["read", "write", "api_keys.read", "api_keys.write", "oauth_clients.read", "oauth_clients.write"]


async def _counts(h: Harness) -> tuple[int, int]:
    async with h.tocsin.db.transaction() as session:
        keys = (await session.execute(select(func.count()).select_from(ApiKey))).scalar_one()
        clients = (await session.execute(select(func.count()).select_from(OAuthClient))).scalar_one()
    return keys, clients


@pytest.mark.parametrize("body", [
    {"description": "full account key"},
    {"description": "read-only account key", "read_only": True},
])
async def test_a_narrow_oauth_token_cannot_mint_an_account_key(harness: Harness, body: dict) -> None:
    token = await oauth_token(harness, ["api_keys.write"])
    before = await _counts(harness)
    r = await harness.client.post("/api_keys", headers={"Authorization": f"Bearer {token}"}, json={"api_key": body})
    assert_error(r, 403, 2010)
    assert await _counts(harness) == before


async def test_a_narrow_oauth_token_cannot_mint_a_user_key_for_an_admin(harness: Harness) -> None:
    admin_id, _ = await user_with_key(harness, "admin")
    token = await oauth_token(harness, ["api_keys.write", "read", "write"])
    before = await _counts(harness)
    r = await harness.client.post("/api_keys", headers={"Authorization": f"Bearer {token}"},
                                  json={"api_key": {"type": "user", "user": {"id": admin_id}}})
    assert_error(r, 403, 2010)  # the admin's key could reach credentials the token cannot
    assert await _counts(harness) == before


async def test_an_oauth_token_may_mint_what_it_covers(harness: Harness) -> None:
    observer_id, _ = await user_with_key(harness, "observer")
    narrow = await oauth_token(harness, ["api_keys.write", "read"])
    r = await harness.client.post("/api_keys", headers={"Authorization": f"Bearer {narrow}"},
                                  json={"api_key": {"type": "user", "user": {"id": observer_id}}})
    assert r.status_code == 201, r.text  # an observer's key only reads: within "read"
    full = await oauth_token(harness, FULL)
    r = await harness.client.post("/api_keys", headers={"Authorization": f"Bearer {full}"},
                                  json={"api_key": {"description": "by a fully scoped app"}})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("scopes", [
    ["write"], ["read"], ["api_keys.write"], ["incidents.read", "services.write"], ["oauth_clients.read"],
])
async def test_a_narrow_oauth_token_cannot_mint_a_broader_client(harness: Harness, scopes: list[str]) -> None:
    token = await oauth_token(harness, ["oauth_clients.write", "incidents.read"])
    before = await _counts(harness)
    r = await harness.client.post("/oauth_clients", headers={"Authorization": f"Bearer {token}"},
                                  json={"oauth_client": {"name": "wider", "scopes": scopes}})
    assert_error(r, 403, 2010)
    assert await _counts(harness) == before


async def test_an_oauth_token_may_mint_a_client_within_its_own_scopes(harness: Harness) -> None:
    token = await oauth_token(harness, ["oauth_clients.write", "read"])
    r = await harness.client.post("/oauth_clients", headers={"Authorization": f"Bearer {token}"},
                                  json={"oauth_client": {"name": "narrower", "scopes": ["incidents.read", "read"]}})
    assert r.status_code == 201, r.text


async def test_admins_and_account_keys_mint_anything(harness: Harness) -> None:
    _, admin_key = await user_with_key(harness, "admin")
    r = await harness.client.post("/oauth_clients", headers={"Authorization": f"Token token={admin_key}"},
                                  json={"oauth_client": {"name": "all", "scopes": FULL}})
    assert r.status_code == 201, r.text
    r = await harness.client.post("/api_keys", headers=harness.writer, json={"api_key": {"description": "acct"}})
    assert r.status_code == 201, r.text
