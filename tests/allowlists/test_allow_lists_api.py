"""/ip_allow_lists and their enforcement, through the app on SQLite and PostgreSQL.

The harness client connects as 127.0.0.1; clients "from" other addresses are the same app with
another ASGI client address (tests/allowlists/test_served.py does the same over real sockets).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tests.users.people import key_for, make_user
from tocsin.api.app import Tocsin
from tocsin.auth import roles

LISTS = "/ip_allow_lists"


@asynccontextmanager
async def client_from(app: Tocsin, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
        yield client


def body(*cidrs: str, state: str = "enabled", applies_to: list[str] | None = None) -> dict[str, Any]:
    wanted: dict[str, Any] = {"type": "ip_allow_list", "state": state,
                              "cidr_entries": [{"cidr": c, "description": f"range {c}"} for c in cidrs]}
    if applies_to is not None:
        wanted["applies_to"] = applies_to
    return {"ip_allow_list": wanted}


async def create(h: Harness, *cidrs: str, force: bool = False, **kw: Any) -> dict[str, Any]:
    r = await h.client.post(LISTS, headers=h.writer, json=body(*cidrs, **kw), params={"force": "true"} if force else {})
    assert r.status_code == 201, r.text
    return r.json()["ip_allow_list"]


async def test_crud_in_pagerdutys_shapes(harness: Harness) -> None:
    h = harness
    empty = await h.client.get(LISTS, headers=h.auth)
    assert_conforms(empty, "GET", LISTS, 200)
    assert empty.json() == {"ip_allow_lists": []}

    r = await h.client.post(LISTS, headers={**h.writer, "X-EARLY-ACCESS": "ip-allow-lists"},
                            json=body("127.0.0.0/8", "192.168.1.0/24"))
    assert_conforms(r, "POST", LISTS, 201)
    made = r.json()["ip_allow_list"]
    assert made["type"] == "ip_allow_list" and made["state"] == "enabled"
    assert made["applies_to"] == ["rest_api"]  # Tocsin's default: the REST API, as PagerDuty's lists
    assert made["cidr_entries"] == [{"cidr": "127.0.0.0/8", "description": "range 127.0.0.0/8"},
                                    {"cidr": "192.168.1.0/24", "description": "range 192.168.1.0/24"}]
    assert made["self"] == f"http://tocsin.test/ip_allow_lists/{made['id']}"

    assert_conforms(await h.client.get(LISTS, headers=h.auth), "GET", LISTS, 200)
    one = await h.client.get(f"{LISTS}/{made['id']}", headers=h.auth)
    assert_conforms(one, "GET", "/ip_allow_lists/{id}", 200)
    assert one.json()["ip_allow_list"] == made

    # PUT replaces the writable fields; applies_to is kept when a PagerDuty client leaves it out.
    put = await h.client.put(f"{LISTS}/{made['id']}", headers=h.writer, json=body("127.0.0.1", state="disabled"))
    assert_conforms(put, "PUT", "/ip_allow_lists/{id}", 200)
    changed = put.json()["ip_allow_list"]
    assert changed["state"] == "disabled" and changed["applies_to"] == ["rest_api"]
    assert changed["cidr_entries"] == [{"cidr": "127.0.0.1/32", "description": "range 127.0.0.1"}]

    gone = await h.client.delete(f"{LISTS}/{made['id']}", headers=h.writer)
    assert gone.status_code == 204
    assert_error(await h.client.get(f"{LISTS}/{made['id']}", headers=h.auth), 404, 2100)
    assert_error(await h.client.put(f"{LISTS}/{made['id']}", headers=h.writer, json=body("127.0.0.1")), 404, 2100)


@pytest.mark.parametrize(("wanted", "message"), [
    (body("10.0.0.1/8"), "cidr_entries[0].cidr: 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)"),
    (body("office"), "cidr_entries[0].cidr: 'office' is not an IP address or CIDR range"),
    (body("0.0.0.0/0"), "admits every address; disable or delete the list instead"),
    (body("127.0.0.0/8", "127.0.0.0/8"), "cidr_entries[1].cidr: 127.0.0.0/8 is already cidr_entries[0]"),
    (body(), "an enabled list needs at least one range"),
    (body("127.0.0.0/8", applies_to=["rest_api", "web"]), "applies_to"),
    (body("127.0.0.0/8", applies_to=[]), "applies_to"),
    (body(*(f"10.0.{i}.0/24" for i in range(101))), "cidr_entries"),
    ({"ip_allow_list": {"state": "on", "cidr_entries": []}}, "state"),
    ({"ip_allow_list": {"state": "enabled", "cidr_entries": [{"cidr": "127.0.0.1", "description": "x" * 65}]}},
     "description"),
])
async def test_invalid_lists_are_refused_and_nothing_is_stored(harness: Harness, wanted: dict[str, Any],
                                                               message: str) -> None:
    h = harness
    error = assert_error(await h.client.post(LISTS, headers=h.writer, json=wanted), 400, 2001)
    assert any(message in e for e in error["errors"]), error
    assert (await h.client.get(LISTS, headers=h.auth)).json() == {"ip_allow_lists": []}


async def test_each_surface_has_at_most_one_list(harness: Harness) -> None:
    h = harness
    rest = await create(h, "127.0.0.0/8")
    await create(h, "192.0.2.0/24", applies_to=["events_api"])
    r = await h.client.post(LISTS, headers=h.writer, json=body("127.0.0.0/8", applies_to=["rest_api", "events_api"]))
    error = assert_error(r, 400, 2001)
    assert f"already restricted by IP allow list {rest['id']}" in error["errors"][0]


async def test_a_rest_list_refuses_other_addresses_with_403_and_leaves_events_alone(harness: Harness) -> None:
    h = harness
    await create(h, "127.0.0.0/8", "2001:db8::/32")
    assert (await h.client.get("/services", headers=h.auth)).status_code == 200
    async with client_from(h.tocsin, "203.0.113.9") as outsider, client_from(h.tocsin, "2001:db8::9") as v6:
        refused = await outsider.get("/services", headers=h.auth)
        error = assert_error(refused, 403, 2010)
        assert error["message"] == "Access Denied"
        assert error["errors"] == [("Requests from 203.0.113.9 are not allowed by the account's IP allow list "
                                    "for the REST API")]
        # refused before authentication: a bad key gets the same 403, not a 401
        assert (await outsider.get("/services", headers={"Authorization": "Token token=nope"})).status_code == 403
        assert (await v6.get("/services", headers=h.auth)).status_code == 200
        # the Events API has no list: still accepted
        assert (await outsider.post("/v2/enqueue", json=h.event())).status_code == 202
        # paths no REST list restricts: the health probe, the published webhook addresses, Twilio's callbacks
        assert (await outsider.get("/health")).status_code == 200
        assert (await outsider.get("/webhook_ips")).status_code == 200
        sms = await outsider.post("/twilio/sms", data={"Body": "4"})
        assert "allow list" not in sms.text


async def test_an_events_list_refuses_events_in_the_events_apis_shape(harness: Harness) -> None:
    h = harness
    await create(h, "192.0.2.0/24", applies_to=["events_api"])  # no lockout: REST is not restricted
    refused = await h.send(h.event())
    assert refused.status_code == 403
    assert refused.json() == {
        "status": "forbidden", "message": "Forbidden by the account's IP allow list",
        "errors": ["Requests from 127.0.0.1 are not allowed by the account's IP allow list for the Events API"]}
    v1 = await h.client.post("/generic/2010-04-15/create_event.json", json={})
    assert v1.status_code == 403 and v1.json()["status"] == "forbidden"
    async with client_from(h.tocsin, "192.0.2.44") as monitoring:
        assert (await monitoring.post("/v2/enqueue", json=h.event(dedup_key="m1"))).status_code == 202
        assert (await monitoring.post("/v2/change/enqueue", json={
            "routing_key": h.routing_key, "payload": {"summary": "deploy", "source": "ci"}})).status_code == 202
    assert await h.process() == 2
    assert (await h.client.get("/services", headers=h.auth)).status_code == 200


async def test_a_change_that_would_lock_out_its_maker_is_refused_unless_forced(harness: Harness) -> None:
    h = harness
    r = await h.client.post(LISTS, headers=h.writer, json=body("10.0.0.0/8"))
    error = assert_error(r, 400, 2001)
    assert error["message"] == "This change would lock you out"
    assert "refuse requests from 127.0.0.1, the address making it" in error["errors"][0]
    assert "force=true" in error["errors"][0]
    assert (await h.client.get(LISTS, headers=h.auth)).json() == {"ip_allow_lists": []}
    assert (await h.client.get("/audit/records", headers=h.auth,
                               params={"root_resource_types[]": "ip_allow_lists"})).json()["records"] == []

    forced = await create(h, "10.0.0.0/8", force=True)
    assert_error(await h.client.get("/services", headers=h.auth), 403, 2010)  # locked out, as asked
    async with client_from(h.tocsin, "10.1.2.3") as office:
        # narrowing to a range without the office's own address: refused for the office too
        r = await office.put(f"{LISTS}/{forced['id']}", headers=h.writer, json=body("192.0.2.0/24"))
        assert "refuse requests from 10.1.2.3" in assert_error(r, 400, 2001)["errors"][0]
        # disabling or deleting can never lock anyone out
        assert (await office.put(f"{LISTS}/{forced['id']}", headers=h.writer,
                                 json=body("192.0.2.0/24", state="disabled"))).status_code == 200
        assert (await office.delete(f"{LISTS}/{forced['id']}", headers=h.writer)).status_code == 204
    assert (await h.client.get("/services", headers=h.auth)).status_code == 200
    # force must be a boolean
    bad = await h.client.post(LISTS, headers=h.writer, json=body("10.0.0.0/8"), params={"force": "maybe"})
    assert assert_error(bad, 400, 2001)["errors"] == ["force must be true or false"]


async def test_changes_are_audited_under_the_list(harness: Harness) -> None:
    h = harness
    made = await create(h, "127.0.0.0/8")
    await h.client.put(f"{LISTS}/{made['id']}", headers=h.writer, json=body("127.0.0.0/8", "192.0.2.0/24"))
    await h.client.put(f"{LISTS}/{made['id']}", headers=h.writer, json=body("127.0.0.0/8", "192.0.2.0/24"))  # no-op
    await h.client.delete(f"{LISTS}/{made['id']}", headers=h.writer)
    trail = await h.client.get(f"{LISTS}/{made['id']}/audit/records", headers=h.auth)
    assert trail.status_code == 200, trail.text
    assert_conforms(trail, "GET", "/ip_allow_lists/{id}/audit/records", 200)
    records = trail.json()["records"]
    assert [r["action"] for r in records] == ["delete", "update", "create"]  # newest first, the no-op unrecorded
    assert {r["root_resource"]["type"] for r in records} == {"ip_allow_list_reference"}
    assert {r["actors"][0]["type"] for r in records} == {"api_key_reference"}
    assert {r["execution_context"]["remote_address"] for r in records} == {"127.0.0.1"}
    update = {f["name"]: f for f in records[1]["details"]["fields"]}
    assert set(update) == {"cidr_entries"}
    assert "192.0.2.0/24" in update["cidr_entries"]["value"]
    assert "192.0.2.0/24" not in update["cidr_entries"]["before_value"]
    created = {f["name"]: f["value"] for f in records[2]["details"]["fields"]}
    assert created["state"] == "enabled" and created["applies_to"] == '["rest_api"]'
    listed = await h.client.get("/audit/records", headers=h.auth, params={"root_resource_types[]": "ip_allow_lists"})
    assert len(listed.json()["records"]) == 3
    assert_error(await h.client.get(f"{LISTS}/PNOSUCHLIST/audit/records", headers=h.auth), 404, 2100)


async def test_only_admins_and_account_keys_manage_allow_lists(harness: Harness) -> None:
    h = harness
    manager = await make_user(h, "Mia Manager", role="user")
    admin = await make_user(h, "Ada Admin", role="admin")
    as_manager, as_admin = await key_for(h, manager["id"]), await key_for(h, admin["id"])
    assert_error(await h.client.get(LISTS, headers=as_manager), 403, 2010)
    assert_error(await h.client.post(LISTS, headers=as_manager, json=body("127.0.0.0/8")), 403, 2010)
    assert (await h.client.get(LISTS, headers=as_admin)).status_code == 200
    assert (await h.client.post(LISTS, headers=as_admin, json=body("127.0.0.0/8"))).status_code == 201
    # OAuth: PagerDuty's scope names
    assert roles.oauth_allows({"ip_allow_lists.write"}, "ip_allow_lists.write")
    assert not roles.oauth_allows({"incidents.write"}, "ip_allow_lists.write")


async def test_another_process_sees_a_change_when_it_reloads(harness: Harness) -> None:
    """Two servers on one database: the one that made the change enforces it at once, the other
    on its next reload (every few seconds, here made quick)."""
    h = harness
    other = Tocsin(h.tocsin.settings, start_worker=False, start_engine=False)
    try:
        async with client_from(other, "203.0.113.9") as outsider:
            assert (await outsider.get("/services", headers=h.auth)).status_code == 200  # loads: no list yet
            await create(h, "127.0.0.0/8")
            async with client_from(h.tocsin, "203.0.113.9") as here:
                assert (await here.get("/services", headers=h.auth)).status_code == 403  # at once here
            assert (await outsider.get("/services", headers=h.auth)).status_code == 200  # not re-read yet
            other.allow_lists.refresh_seconds = 0.05
            other.allow_lists.start()
            for _ in range(100):
                if (await outsider.get("/services", headers=h.auth)).status_code == 403:
                    break
                await asyncio.sleep(0.05)
            assert (await outsider.get("/services", headers=h.auth)).status_code == 403
    finally:
        await other.allow_lists.stop()
        await other.committer.close()
        await other.db.dispose()
