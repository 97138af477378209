"""REST rate limit per credential (SPEC-NOTES 2): ``ratelimit-*`` headers on every answer, 429
with code 2020 once the budget is spent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import Harness
from tests.helpers import default_policy
from tocsin.auth.logic import issue_api_key

LIMIT = 5
HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rest_rate_limit": LIMIT}


def limits(response: Any) -> tuple[int, int, int]:
    missing = [h for h in HEADERS if h not in response.headers]
    assert missing == [], f"{response.status_code} answer lacks {missing}"
    limit, remaining, reset = (int(response.headers[h]) for h in HEADERS)
    assert limit == LIMIT
    assert 0 <= remaining <= LIMIT
    assert 1 <= reset <= 60
    return limit, remaining, reset


async def spend(h: Harness, headers: dict[str, str], n: int) -> list[int]:
    remaining = []
    for _ in range(n):
        r = await h.client.get("/services", headers=headers)
        assert r.status_code == 200, r.text
        remaining.append(limits(r)[1])
    return remaining


async def test_remaining_counts_down_then_429_with_code_2020(harness: Harness) -> None:
    assert await spend(harness, harness.auth, LIMIT) == [4, 3, 2, 1, 0]
    r = await harness.client.get("/services", headers=harness.auth)
    assert r.status_code == 429, r.text
    assert r.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020,
                                  "errors": r.json()["error"]["errors"]}}
    assert isinstance(r.json()["error"]["errors"], list)
    _, remaining, _ = limits(r)
    assert remaining == 0
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # Writes are refused too, and nothing is written.
    r = await harness.client.post("/services", headers=harness.auth, json={"service": {"name": "over"}})
    assert r.status_code == 429 and r.json()["error"]["code"] == 2020


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/services", None, 200),
    ("POST", "/services", {"service": {"name": "new"}}, 201),
    ("POST", "/services", {"service": {}}, 400),
    ("GET", "/services?limit=abc", None, 400),
    ("GET", "/services/PXXXXXX", None, 404),
    ("GET", "/no/such/route", None, 404),
    ("PUT", "/incidents/PXXXXXX", {"incident": {"status": "resolved"}}, 404),
])
async def test_headers_on_every_kind_of_answer(
    harness: Harness, method: str, path: str, body: Any, status: int
) -> None:
    if status == 201:  # a service needs an escalation policy
        body = {"service": {**body["service"], "escalation_policy": default_policy(harness)}}
    r = await harness.client.request(method, path, headers=harness.writer, json=body)
    assert r.status_code == status, r.text
    assert limits(r)[1] == LIMIT - 1


async def test_headers_on_a_refused_credential(harness: Harness) -> None:
    r = await harness.client.get("/services", headers={"Authorization": "Token token=nope_nope_nope_nope_"})
    assert r.status_code == 401
    assert limits(r)[1] == LIMIT - 1


async def test_each_credential_has_its_own_budget(harness: Harness) -> None:
    await spend(harness, harness.auth, LIMIT)
    assert (await harness.client.get("/services", headers=harness.auth)).status_code == 429
    async with harness.tocsin.db.transaction() as session:
        other = await issue_api_key(session, datetime.now(UTC), description="other")
    r = await harness.client.get("/services", headers={"Authorization": f"Token token={other}"})
    assert r.status_code == 200
    assert limits(r)[1] == LIMIT - 1


@pytest.mark.parametrize("other_form", ["Bearer {k}", "token token={k}", "Token  token={k}"])
async def test_one_key_shares_one_budget_whatever_the_header_spelling(harness: Harness, other_form: str) -> None:
    """The limit is per key (SPEC-NOTES 2): rewriting the same key's header must not buy a fresh budget."""
    await spend(harness, harness.auth, LIMIT)
    r = await harness.client.get("/services", headers={"Authorization": other_form.format(k=harness.seed.api_key)})
    assert r.status_code == 429, f"{other_form!r} got a fresh budget: {r.status_code} {dict(r.headers)}"


async def test_a_user_key_has_its_own_budget_and_is_limited(harness: Harness) -> None:
    from tests.auth.tokens import user_with_key

    _, key = await user_with_key(harness, "user")
    headers = {"Authorization": f"Token token={key}"}
    assert await spend(harness, headers, LIMIT) == [4, 3, 2, 1, 0]
    r = await harness.client.get("/services", headers=headers)
    assert r.status_code == 429 and r.json()["error"]["code"] == 2020
    # The account key's budget was untouched.
    assert limits(await harness.client.get("/services", headers=harness.auth))[1] == LIMIT - 1


async def test_oauth_tokens_of_one_client_share_its_budget(harness: Harness) -> None:
    """Minting a fresh token must not buy a fresh budget: the limit follows the OAuth client."""
    from tocsin.auth import logic

    async with harness.tocsin.db.transaction() as session:
        now = datetime.now(UTC)
        client, secret = await logic.create_oauth_client(session, now, logic.CLI_ACTOR, name="app",
                                                         scopes=["services.read"])
        first = await logic.issue_access_token(session, now, client_id=client.id, client_secret=secret,
                                               requested=None, ttl=3600)
        second = await logic.issue_access_token(session, now, client_id=client.id, client_secret=secret,
                                                requested=None, ttl=3600)
    assert await spend(harness, {"Authorization": f"Bearer {first.access_token}"}, 3) == [4, 3, 2]
    assert await spend(harness, {"Authorization": f"Bearer {second.access_token}"}, 2) == [1, 0]
    r = await harness.client.get("/services", headers={"Authorization": f"Bearer {second.access_token}"})
    assert r.status_code == 429 and r.json()["error"]["code"] == 2020
    assert limits(await harness.client.get("/services", headers=harness.auth))[1] == LIMIT - 1


async def test_the_token_endpoint_is_reachable_even_when_a_credential_is_over_budget(harness: Harness) -> None:
    await spend(harness, harness.auth, LIMIT)
    r = await harness.client.post("/oauth/token", headers={"Authorization": harness.auth["Authorization"]},
                                  data={"grant_type": "client_credentials"})
    # The public endpoint answers for itself (here: no client credentials), not with 429.
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


async def test_guessing_different_tokens_from_one_client_is_throttled(harness: Harness) -> None:
    # Keyed by what was sent, every guess would get a fresh budget (and a limiter entry of its own).
    for i in range(LIMIT):
        r = await harness.client.get("/services", headers={"Authorization": f"Token token=guess_{i:015d}"})
        assert r.status_code == 401, r.text
    r = await harness.client.get("/services", headers={"Authorization": "Token token=guess_999999999999999"})
    assert r.status_code == 429 and r.json()["error"]["code"] == 2020
    # A valid credential from the same client keeps its own budget.
    assert (await harness.client.get("/services", headers=harness.auth)).status_code == 200
