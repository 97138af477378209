"""GET /abilities and GET /abilities/{id}."""

from __future__ import annotations

import pytest

from tests.auth.tokens import oauth_token, user_with_key
from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error


async def test_list_conforms_and_names_what_tocsin_has(harness: Harness) -> None:
    r = await harness.client.get("/abilities", headers=harness.auth)
    assert_conforms(r, "GET", "/abilities")
    assert {"teams", "urgencies", "read_only_users"} <= set(r.json()["abilities"])
    assert "sso" not in r.json()["abilities"]


@pytest.mark.parametrize("name", ["teams", "urgencies", "read_only_users", "service_support_hours"])
async def test_an_ability_the_account_has_is_204(harness: Harness, name: str) -> None:
    r = await harness.client.get(f"/abilities/{name}", headers=harness.auth)
    assert r.status_code == 204 and r.content == b""


@pytest.mark.parametrize("name", ["sso", "status_pages", "event_rules"])
async def test_an_ability_tocsin_lacks_is_402(harness: Harness, name: str) -> None:
    r = await harness.client.get(f"/abilities/{name}", headers=harness.auth)
    error = assert_error(r, 402, 2000)
    assert any(name in e for e in error["errors"])
    assert_conforms(r, "GET", "/abilities/{id}")


async def test_an_unknown_ability_is_404(harness: Harness) -> None:
    assert_error(await harness.client.get("/abilities/time_travel", headers=harness.auth), 404, 2100)


async def test_every_role_and_the_abilities_scope_may_read_abilities(harness: Harness) -> None:
    _, key = await user_with_key(harness, "restricted_access")
    assert (await harness.client.get("/abilities", headers={"Authorization": f"Token token={key}"})).status_code == 200
    token = await oauth_token(harness, ["abilities.read"])
    r = await harness.client.get("/abilities/teams", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
