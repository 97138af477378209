"""/users and /users/me: CRUD, PagerDuty's shapes, bad input, soft delete, audit records."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tests.users.people import admin_id, audit_rows, key_for, make_user


async def test_create_user_answers_201_with_default_contact_method_and_rule(harness: Harness) -> None:
    h = harness
    resp = await h.client.post("/users", headers=h.writer, json={"user": {
        "type": "user", "name": "Ada Lovelace", "email": "Ada@Example.com", "time_zone": "Europe/London",
        "role": "admin", "job_title": "Engineer", "description": "first programmer"}})
    assert_conforms(resp, "POST", "/users")
    user = resp.json()["user"]
    assert user["email"] == "ada@example.com"  # stored lower-case, as the From header is matched
    assert (user["role"], user["time_zone"], user["job_title"]) == ("admin", "Europe/London", "Engineer")
    assert user["id"].startswith("P") and user["self"].endswith(f"/users/{user['id']}")
    assert [m["type"] for m in user["contact_methods"]] == ["email_contact_method_reference"]
    assert [r["type"] for r in user["notification_rules"]] == ["assignment_notification_rule_reference"]
    rules = (await h.client.get(f"/users/{user['id']}/notification_rules", headers=h.auth)).json()
    [rule] = rules["notification_rules"]
    assert (rule["start_delay_in_minutes"], rule["urgency"]) == (0, "high")
    assert rule["contact_method"]["id"] == user["contact_methods"][0]["id"]


async def test_create_user_with_account_key_needs_from_header(harness: Harness) -> None:
    h = harness
    resp = await h.client.post("/users", headers=h.auth, json={"user": {"name": "X Y", "email": "xy@example.com"}})
    error = assert_error(resp, 400, 2001)
    assert any("From" in e for e in error["errors"])
    listed = (await h.client.get("/users", headers=h.auth, params={"query": "xy@"})).json()
    assert listed["users"] == []


async def test_get_list_and_query(harness: Harness) -> None:
    h = harness
    ada = await make_user(h, "Ada Lovelace")
    await make_user(h, "Grace Hopper")
    resp = await h.client.get(f"/users/{ada['id']}", headers=h.auth)
    assert_conforms(resp, "GET", "/users/{id}")
    assert resp.json()["user"]["name"] == "Ada Lovelace"
    resp = await h.client.get("/users", headers=h.auth, params={"total": "true"})
    assert_conforms(resp, "GET", "/users")
    body = resp.json()
    assert body["total"] == 3 and [u["name"] for u in body["users"]] == ["Ada Lovelace", "Administrator",
                                                                         "Grace Hopper"]
    by_name = (await h.client.get("/users", headers=h.auth, params={"query": "HOPP"})).json()["users"]
    assert [u["name"] for u in by_name] == ["Grace Hopper"]
    by_email = (await h.client.get("/users", headers=h.auth, params={"query": "ada@"})).json()["users"]
    assert [u["name"] for u in by_email] == ["Ada Lovelace"]
    paged = (await h.client.get("/users", headers=h.auth, params={"limit": 1, "offset": 1})).json()
    assert [u["name"] for u in paged["users"]] == ["Administrator"] and paged["more"] is True


async def test_include_expands_contact_methods_and_rules(harness: Harness) -> None:
    h = harness
    ada = await make_user(h)
    resp = await h.client.get(f"/users/{ada['id']}", headers=h.auth,
                              params={"include[]": ["contact_methods", "notification_rules"]})
    # Not checked against the contract: PagerDuty's schema types these arrays as references
    # only, while its API (and clients using include[]) get the full objects.
    assert resp.status_code == 200
    user = resp.json()["user"]
    assert user["contact_methods"][0]["type"] == "email_contact_method"
    assert user["contact_methods"][0]["address"] == ada["email"]
    assert user["notification_rules"][0]["type"] == "assignment_notification_rule"
    assert_error(await h.client.get("/users", headers=h.auth, params={"include[]": "bogus"}), 400, 2001)


async def test_update_user(harness: Harness) -> None:
    h = harness
    ada = await make_user(h)
    resp = await h.client.put(f"/users/{ada['id']}", headers=h.writer, json={"user": {
        "name": "Ada King", "color": "purple", "time_zone": "America/New_York", "role": "limited_user"}})
    assert_conforms(resp, "PUT", "/users/{id}")
    user = resp.json()["user"]
    assert (user["name"], user["color"], user["time_zone"], user["role"]) == (
        "Ada King", "purple", "America/New_York", "limited_user")
    assert user["email"] == ada["email"]  # untouched fields stay


@pytest.mark.parametrize(("fields", "needle"), [
    ({"email": "a@example.com"}, "name"),
    ({"name": "A B"}, "email"),
    ({"name": "", "email": "ab@example.com"}, "name"),
    ({"name": "   ", "email": "ab@example.com"}, "name"),
    ({"name": 5, "email": "ab@example.com"}, "name"),
    ({"name": "x" * 101, "email": "ab@example.com"}, "name"),
    ({"name": "A B", "email": "not-an-email"}, "email"),
    ({"name": "A B", "email": None}, "email"),
    ({"name": "A B", "email": "ab@example.com", "time_zone": "Mars/Olympus"}, "time_zone"),
    ({"name": "A B", "email": "ab@example.com", "role": "superuser"}, "role"),
    ({"name": "A B", "email": "ab@example.com", "role": "owner"}, "role"),
    ({"name": "A B", "email": "ab@example.com", "job_title": "j" * 101}, "job_title"),
    ({"name": "A B", "email": "ab@example.com", "color": None}, "color"),
])
async def test_bad_create_input_is_400_naming_the_field(harness: Harness, fields: dict[str, Any], needle: str) -> None:
    h = harness
    error = assert_error(await h.client.post("/users", headers=h.writer, json={"user": fields}), 400, 2001)
    assert any(needle in e for e in error["errors"]), error
    assert (await h.client.get("/users", headers=h.auth, params={"total": "true"})).json()["total"] == 1


@pytest.mark.parametrize("body", [{}, {"user": None}, {"user": []}, []])
async def test_malformed_bodies_are_400(harness: Harness, body: Any) -> None:
    assert_error(await harness.client.post("/users", headers=harness.writer, json=body), 400, 2001)


async def test_duplicate_email_is_400(harness: Harness) -> None:
    h = harness
    await make_user(h, "Ada Lovelace", "ada@example.com")
    error = assert_error(await h.client.post("/users", headers=h.writer, json={
        "user": {"name": "Other", "email": "ADA@example.com"}}), 400, 2001)
    assert any("email" in e for e in error["errors"])
    grace = await make_user(h, "Grace Hopper")
    assert_error(await h.client.put(f"/users/{grace['id']}", headers=h.writer,
                                    json={"user": {"email": "ada@example.com"}}), 400, 2001)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/users/PNOSUCH1"), ("PUT", "/users/PNOSUCH1"), ("DELETE", "/users/PNOSUCH1"),
    ("GET", "/users/PNOSUCH1/contact_methods"), ("GET", "/users/PNOSUCH1/notification_rules"),
])
async def test_unknown_user_is_404(harness: Harness, method: str, path: str) -> None:
    h = harness
    resp = await h.client.request(method, path, headers=h.writer,
                                  json={"user": {"name": "x"}} if method == "PUT" else None)
    assert_error(resp, 404, 2100)


async def test_users_me(harness: Harness) -> None:
    h = harness
    ada = await make_user(h)
    resp = await h.client.get("/users/me", headers=await key_for(h, ada["id"]))
    assert_conforms(resp, "GET", "/users/me")
    assert resp.json()["user"]["id"] == ada["id"]
    # An account key: PagerDuty's plain-string error, which the official client recognises.
    answer = await h.client.get("/users/me", headers=h.auth)
    assert answer.status_code == 400
    assert "account-level access token" in answer.json()["error"]


async def test_delete_is_soft_revokes_keys_and_keeps_email_reserved(harness: Harness) -> None:
    h = harness
    ada = await make_user(h)
    ada_key = await key_for(h, ada["id"])
    assert (await h.client.get("/users/me", headers=ada_key)).status_code == 200
    resp = await h.client.delete(f"/users/{ada['id']}", headers=h.writer)
    assert resp.status_code == 204 and resp.content == b""
    assert_error(await h.client.get(f"/users/{ada['id']}", headers=h.auth), 404, 2100)
    listed = (await h.client.get("/users", headers=h.auth)).json()["users"]
    assert ada["id"] not in {u["id"] for u in listed}
    assert_error(await h.client.delete(f"/users/{ada['id']}", headers=h.writer), 404, 2100)
    error = assert_error(await h.client.post("/users", headers=h.writer, json={
        "user": {"name": "Again", "email": ada["email"]}}), 400, 2001)
    assert any("deleted" in e for e in error["errors"])
    assert (await h.client.get("/users", headers=ada_key)).status_code == 401


async def test_a_deleted_users_key_is_refused_on_the_very_next_request(harness: Harness) -> None:
    # The key was looked up (and cached for 5 s) just before the delete; the process that
    # deleted the user forgets it after commit, so no request in between may use it.
    h = harness
    ada = await make_user(h)
    ada_key = await key_for(h, ada["id"])
    assert (await h.client.get("/users/me", headers=ada_key)).status_code == 200
    assert (await h.client.delete(f"/users/{ada['id']}", headers=h.writer)).status_code == 204
    assert_error(await h.client.get("/users/me", headers=ada_key), 401, 2006)


async def test_a_demoted_users_key_gets_the_lower_roles_answer_on_the_next_request(harness: Harness) -> None:
    h = harness
    ada = await make_user(h, role="user")
    ada_key = await key_for(h, ada["id"])
    service = f"/services/{h.seed.service_id}"

    async def describe(text: str) -> int:
        body = {"service": {"description": text}}
        return (await h.client.put(service, headers=ada_key, json=body)).status_code

    assert await describe("before") == 200  # a user may write services (and the key is now cached)
    demoted = await h.client.put(f"/users/{ada['id']}", headers=h.writer, json={"user": {"role": "observer"}})
    assert demoted.status_code == 200, demoted.text
    assert_error(await h.client.put(service, headers=ada_key, json={"service": {"description": "after"}}),
                 403, 2010)
    # And the way back: promoted again, the key may write at once.
    await h.client.put(f"/users/{ada['id']}", headers=h.writer, json={"user": {"role": "user"}})
    assert await describe("again") == 200


async def test_owner_cannot_be_deleted_demoted_or_created(harness: Harness) -> None:
    h = harness
    owner = await admin_id(h)
    error = assert_error(await h.client.delete(f"/users/{owner}", headers=h.writer), 400, 2001)
    assert "owner" in " ".join(error["errors"])
    error = assert_error(await h.client.put(f"/users/{owner}", headers=h.writer,
                                            json={"user": {"role": "admin"}}), 400, 2001)
    assert "owner" in " ".join(error["errors"])
    ada = await make_user(h)
    assert_error(await h.client.put(f"/users/{ada['id']}", headers=h.writer,
                                    json={"user": {"role": "owner"}}), 400, 2001)
    me = (await h.client.get(f"/users/{owner}", headers=h.auth)).json()["user"]
    assert me["role"] == "owner"


async def test_every_change_writes_an_audit_record(harness: Harness) -> None:
    h = harness
    ada = await make_user(h)
    [created] = await audit_rows(h, "user", ada["id"])
    assert created.action == "create" and {f["name"] for f in created.fields} >= {"name", "email", "role"}
    await h.client.put(f"/users/{ada['id']}", headers=h.writer, json={"user": {"name": "Ada King"}})
    await h.client.put(f"/users/{ada['id']}", headers=h.writer, json={"user": {"name": "Ada King"}})  # no-op
    await h.client.delete(f"/users/{ada['id']}", headers=h.writer)
    rows = await audit_rows(h, "user", ada["id"])
    assert [r.action for r in rows] == ["create", "update", "delete"]
    assert rows[1].fields == [{"name": "name", "before_value": "Ada Lovelace", "value": "Ada King"}]
    assert len(await audit_rows(h, "contact_method")) == 1 and len(await audit_rows(h, "notification_rule")) == 1


async def test_concurrent_creates_with_one_email_make_one_user_and_no_500(harness: Harness) -> None:
    """The email check and the insert are not atomic; the unique constraint settles the race and
    the loser gets a 400 (a whole rollback), never a 500."""
    h = harness
    body = {"user": {"name": "Twin", "email": "twin@example.com"}}
    answers = await asyncio.gather(*(h.client.post("/users", headers=h.writer, json=body) for _ in range(6)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 400, 400, 400, 400, 400], [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 400:
            assert_error(answer, 400, 2001)
    listed = (await h.client.get("/users", headers=h.auth, params={"query": "twin@"})).json()["users"]
    assert len(listed) == 1
