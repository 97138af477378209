"""Who may change whom: admins manage anyone, users only themselves (never their own role),
only the owner touches the owner."""
from __future__ import annotations

from tests.conftest import Harness
from tests.helpers import assert_error
from tests.users.people import admin_id, key_for, make_user


async def test_plain_user_edits_only_themselves_and_never_their_role(harness: Harness) -> None:
    h = harness
    ada = await make_user(h, "Ada Lovelace", role="user")
    grace = await make_user(h, "Grace Hopper", role="user")
    as_ada = await key_for(h, ada["id"])
    resp = await h.client.put(f"/users/{ada['id']}", headers=as_ada, json={"user": {
        "name": "Ada King", "job_title": "Analyst", "color": "teal"}})
    assert resp.status_code == 200 and resp.json()["user"]["name"] == "Ada King"
    assert_error(await h.client.put(f"/users/{ada['id']}", headers=as_ada, json={"user": {"role": "admin"}}), 403, 2010)
    assert_error(await h.client.put(f"/users/{grace['id']}", headers=as_ada, json={"user": {"name": "Hacked"}}), 403,
                 2010)
    assert_error(await h.client.post("/users", headers=as_ada,
                                     json={"user": {"name": "New", "email": "new@example.com"}}),
                 403, 2010)
    assert_error(await h.client.delete(f"/users/{grace['id']}", headers=as_ada), 403, 2010)
    # Own contact methods and rules: yes; someone else's: no.
    resp = await h.client.post(f"/users/{ada['id']}/contact_methods", headers=as_ada, json={"contact_method": {
        "type": "sms_contact_method", "label": "SMS", "address": "5550001111", "country_code": 44}})
    assert resp.status_code == 201
    assert_error(await h.client.post(f"/users/{grace['id']}/contact_methods", headers=as_ada, json={"contact_method": {
        "type": "sms_contact_method", "label": "SMS", "address": "5550001111", "country_code": 44}}), 403, 2010)
    grace_rule = grace["notification_rules"][0]["id"]
    assert_error(await h.client.delete(f"/users/{grace['id']}/notification_rules/{grace_rule}", headers=as_ada), 403,
                 2010)
    grace_now = (await h.client.get(f"/users/{grace['id']}", headers=h.auth)).json()["user"]
    assert (grace_now["name"], grace_now["role"], len(grace_now["notification_rules"])) == ("Grace Hopper", "user", 1)
    assert (await h.client.get(f"/users/{ada['id']}", headers=h.auth)).json()["user"]["role"] == "user"


async def test_limited_user_may_update_their_own_profile(harness: Harness) -> None:
    h = harness
    lim = await make_user(h, "Lim Ited", role="limited_user")
    resp = await h.client.put(f"/users/{lim['id']}", headers=await key_for(h, lim["id"]),
                              json={"user": {"time_zone": "Asia/Tokyo"}})
    assert resp.status_code == 200 and resp.json()["user"]["time_zone"] == "Asia/Tokyo"


async def test_admin_manages_users_but_not_the_owner(harness: Harness) -> None:
    h = harness
    boss = await make_user(h, "Bea Admin", role="admin")
    ada = await make_user(h, "Ada Lovelace")
    as_admin = await key_for(h, boss["id"])
    resp = await h.client.put(f"/users/{ada['id']}", headers=as_admin, json={"user": {"role": "observer"}})
    assert resp.status_code == 200 and resp.json()["user"]["role"] == "observer"
    resp = await h.client.post("/users", headers=as_admin,
                               json={"user": {"name": "New Hire", "email": "nh@example.com"}})
    assert resp.status_code == 201
    assert_error(await h.client.put(f"/users/{boss['id']}", headers=as_admin, json={"user": {"role": "user"}}), 403,
                 2010)
    owner = await admin_id(h)
    assert_error(await h.client.put(f"/users/{owner}", headers=as_admin, json={"user": {"name": "Pwned"}}), 403, 2010)
    assert_error(await h.client.delete(f"/users/{owner}", headers=as_admin), 400, 2001)
    assert (await h.client.delete(f"/users/{ada['id']}", headers=as_admin)).status_code == 204
    assert (await h.client.get(f"/users/{owner}", headers=h.auth)).json()["user"]["name"] == "Administrator"


async def test_owner_edits_their_own_profile(harness: Harness) -> None:
    h = harness
    owner = await admin_id(h)
    as_owner = await key_for(h, owner)
    resp = await h.client.put(f"/users/{owner}", headers=as_owner, json={"user": {"name": "The Owner"}})
    assert resp.status_code == 200 and resp.json()["user"]["role"] == "owner"
