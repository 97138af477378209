"""The role table (pure) and each role against one read and one write route (SPEC-NOTES 2)."""

from __future__ import annotations

import pytest

from tests.auth.tokens import another_process, user_with_key
from tests.conftest import Harness
from tests.helpers import assert_error
from tocsin.auth import roles

# role -> (may write services, may write incidents, may read the audit trail / manage keys)
EXPECTED = {
    "owner": (True, True, True),
    "admin": (True, True, True),
    "user": (True, True, False),
    "limited_user": (False, True, False),
    "observer": (False, False, False),
    "read_only_user": (False, False, False),
    "read_only_limited_user": (False, False, False),
    "restricted_access": (False, True, False),
}


def test_the_table_covers_every_role_pagerduty_has() -> None:
    assert set(roles.ROLES) == set(EXPECTED)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_role_table(role: str) -> None:
    services, incidents, admin = EXPECTED[role]
    assert roles.role_allows(role, "services.read") and roles.role_allows(role, "incidents.read")
    assert roles.role_allows(role, "services.write") is services
    assert roles.role_allows(role, "incidents.write") is incidents
    assert roles.role_allows(role, "audit_records.read") is admin
    assert roles.role_allows(role, "api_keys.write") is admin
    # Sub-resources count as their parent.
    assert roles.role_allows(role, "users:contact_methods.read")


def test_unknown_roles_may_do_nothing() -> None:
    assert not roles.role_allows("wizard", "services.read")
    assert not roles.role_allows(None, "services.read")


def test_oauth_scopes_write_does_not_imply_read_and_broad_scopes_skip_credentials() -> None:
    assert roles.oauth_allows({"incidents.write"}, "incidents.write")
    assert not roles.oauth_allows({"incidents.write"}, "incidents.read")
    assert roles.oauth_allows({"read"}, "services.read") and not roles.oauth_allows({"read"}, "services.write")
    assert roles.oauth_allows({"write"}, "services.write") and not roles.oauth_allows({"write"}, "services.read")
    assert not roles.oauth_allows({"write", "read"}, "api_keys.write")
    assert roles.oauth_allows({"api_keys.write"}, "api_keys.write")


@pytest.mark.parametrize(("scope", "ok"), [
    ("incidents.read", True), ("users:contact_methods.write", True), ("read", True),
    ("incidents", False), ("Incidents.read", False), ("incidents.delete", False), ("a:b:c.read", False),
    (".read", False), ("", False),
])
def test_scope_syntax(scope: str, ok: bool) -> None:
    assert roles.scope_is_well_formed(scope) is ok


@pytest.mark.parametrize("role", sorted(EXPECTED))
async def test_each_role_on_a_read_and_write_route(harness: Harness, role: str) -> None:
    services, incidents, admin = EXPECTED[role]
    _, key = await user_with_key(harness, role)
    auth = {"Authorization": f"Token token={key}"}
    r = await harness.client.get("/services", headers=auth)
    assert r.status_code == 200 and r.json()["services"][0]["id"] == harness.seed.service_id
    # services.write: an empty service is refused for its body (400) only if access was granted.
    r = await harness.client.post("/services", headers=auth, json={"service": {}})
    if services:
        assert_error(r, 400, 2001)
    else:
        assert_error(r, 403, 2010)
    # incidents.write on an unknown incident: 404 past access control, 403 before it.
    r = await harness.client.put("/incidents/PXXXXXX", headers=auth,
                                 json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
    if incidents:
        assert_error(r, 404, 2100)
    else:
        assert_error(r, 403, 2010)
    r = await harness.client.get("/audit/records", headers=auth)
    if admin:
        assert r.status_code == 200 and "records" in r.json()
    else:
        assert_error(r, 403, 2010)


async def test_read_only_user_key_of_an_admin_cannot_write(harness: Harness) -> None:
    _, key = await user_with_key(harness, "admin", read_only=True)
    auth = {"Authorization": f"Token token={key}"}
    assert (await harness.client.get("/audit/records", headers=auth)).status_code == 200
    assert_error(await harness.client.post("/services", headers=auth, json={"service": {"name": "x"}}), 403, 2010)


async def test_a_deleted_users_keys_stop_working(harness: Harness) -> None:
    from sqlalchemy import update

    from tocsin.auth.models import User

    user_id, key = await user_with_key(harness, "user")
    auth = {"Authorization": f"Token token={key}"}
    assert (await harness.client.get("/services", headers=auth)).status_code == 200
    async with harness.tocsin.db.transaction() as session:
        await session.execute(update(User).where(User.id == user_id).values(
            deleted_at=harness.tocsin.runtime.clock.now()))
    # Changed behind this app's back (as another process would): a process that has not cached
    # the key refuses it at once; this one within the cache's TTL (tests/auth/test_credential_cache.py).
    async with another_process(harness) as other:
        assert_error(await other.get("/services", headers=auth), 401, 2006)
