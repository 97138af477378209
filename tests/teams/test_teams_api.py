"""/teams, /teams/{id}/members and membership: CRUD, shapes, bad input, permissions, audit."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tests.users.people import audit_rows, key_for, make_user


async def make_team(h: Harness, name: str = "Platform", **fields: Any) -> dict[str, Any]:
    resp = await h.client.post("/teams", headers=h.writer, json={"team": {"type": "team", "name": name, **fields}})
    assert resp.status_code == 201, resp.text
    return resp.json()["team"]


async def test_team_crud_and_shapes(harness: Harness) -> None:
    h = harness
    resp = await h.client.post("/teams", headers=h.writer, json={"team": {"name": "Platform", "description": "infra"}})
    assert_conforms(resp, "POST", "/teams")
    team = resp.json()["team"]
    assert (team["name"], team["description"], team["default_role"], team["parent"]) == ("Platform", "infra",
                                                                                         "manager", None)
    resp = await h.client.get(f"/teams/{team['id']}", headers=h.auth)
    assert_conforms(resp, "GET", "/teams/{id}")
    child = await make_team(h, "Databases", parent={"id": team["id"], "type": "team_reference"})
    assert child["parent"]["id"] == team["id"]
    resp = await h.client.put(f"/teams/{team['id']}", headers=h.writer, json={"team": {"name": "Infra"}})
    assert_conforms(resp, "PUT", "/teams/{id}")
    assert resp.json()["team"]["name"] == "Infra" and resp.json()["team"]["description"] == "infra"
    resp = await h.client.get("/teams", headers=h.auth, params={"total": "true"})
    assert_conforms(resp, "GET", "/teams")
    assert [t["name"] for t in resp.json()["teams"]] == ["Databases", "Infra"] and resp.json()["total"] == 2
    found = (await h.client.get("/teams", headers=h.auth, params={"query": "data"})).json()["teams"]
    assert [t["name"] for t in found] == ["Databases"]
    resp = await h.client.delete(f"/teams/{team['id']}", headers=h.writer)
    assert resp.status_code == 204
    assert_error(await h.client.get(f"/teams/{team['id']}", headers=h.auth), 404, 2100)
    orphan = (await h.client.get(f"/teams/{child['id']}", headers=h.auth)).json()["team"]
    assert orphan["parent"] is None


@pytest.mark.parametrize(("fields", "needle"), [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"name": 12}, "name"),
    ({"name": "n" * 101}, "name"),
    ({"name": "T", "description": "d" * 1025}, "description"),
    ({"name": "T", "default_role": "boss"}, "default_role"),
    ({"name": "T", "parent": {"id": "PNOSUCH1"}}, "parent"),
    ({"name": "T", "parent": "PX"}, "parent"),
])
async def test_bad_team_input_is_400_naming_the_field(harness: Harness, fields: dict[str, Any], needle: str) -> None:
    h = harness
    error = assert_error(await h.client.post("/teams", headers=h.writer, json={"team": fields}), 400, 2001)
    assert any(needle in e for e in error["errors"]), error
    assert (await h.client.get("/teams", headers=h.auth)).json()["teams"] == []


async def test_team_cannot_be_its_own_ancestor(harness: Harness) -> None:
    h = harness
    top = await make_team(h, "Top")
    mid = await make_team(h, "Mid", parent={"id": top["id"]})
    error = assert_error(await h.client.put(f"/teams/{top['id']}", headers=h.writer,
                                            json={"team": {"parent": {"id": mid["id"]}}}), 400, 2001)
    assert any("parent" in e for e in error["errors"])
    assert_error(await h.client.put(f"/teams/{top['id']}", headers=h.writer,
                                    json={"team": {"parent": {"id": top["id"]}}}), 400, 2001)
    assert (await h.client.get(f"/teams/{top['id']}", headers=h.auth)).json()["team"]["parent"] is None


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/teams/PNOSUCH1"), ("PUT", "/teams/PNOSUCH1"), ("DELETE", "/teams/PNOSUCH1"),
    ("GET", "/teams/PNOSUCH1/members"), ("PUT", "/teams/PNOSUCH1/users/PNOSUCH2"),
    ("DELETE", "/teams/PNOSUCH1/users/PNOSUCH2"),
])
async def test_unknown_team_is_404(harness: Harness, method: str, path: str) -> None:
    body = {"team": {"name": "x"}} if method == "PUT" and path.count("/") == 2 else None
    assert_error(await harness.client.request(method, path, headers=harness.writer, json=body), 404, 2100)


async def test_membership(harness: Harness) -> None:
    h = harness
    team = await make_team(h)
    ada = await make_user(h, "Ada Lovelace")
    grace = await make_user(h, "Grace Hopper")
    resp = await h.client.put(f"/teams/{team['id']}/users/{ada['id']}", headers=h.writer)
    assert resp.status_code == 204  # no body: PagerDuty's default role, manager
    resp = await h.client.put(f"/teams/{team['id']}/users/{grace['id']}", headers=h.writer, json={"role": "responder"})
    assert resp.status_code == 204
    resp = await h.client.get(f"/teams/{team['id']}/members", headers=h.auth)
    assert_conforms(resp, "GET", "/teams/{id}/members")
    members = resp.json()["members"]
    assert [(m["user"]["id"], m["role"]) for m in members] == [(ada["id"], "manager"), (grace["id"], "responder")]
    # Users show their teams, and can be filtered by team.
    user = (await h.client.get(f"/users/{ada['id']}", headers=h.auth)).json()["user"]
    assert [t["id"] for t in user["teams"]] == [team["id"]] and user["teams"][0]["type"] == "team_reference"
    expanded = (await h.client.get(f"/users/{ada['id']}", headers=h.auth, params={"include[]": "teams"})).json()
    assert expanded["user"]["teams"][0]["type"] == "team"
    in_team = (await h.client.get("/users", headers=h.auth, params={"team_ids[]": team["id"]})).json()["users"]
    assert {u["id"] for u in in_team} == {ada["id"], grace["id"]}
    # Role change, then removal.
    await h.client.put(f"/teams/{team['id']}/users/{grace['id']}", headers=h.writer, json={"role": "observer"})
    resp = await h.client.delete(f"/teams/{team['id']}/users/{ada['id']}", headers=h.writer)
    assert resp.status_code == 204
    members = (await h.client.get(f"/teams/{team['id']}/members", headers=h.auth)).json()["members"]
    assert [(m["user"]["id"], m["role"]) for m in members] == [(grace["id"], "observer")]
    assert_error(await h.client.delete(f"/teams/{team['id']}/users/{ada['id']}", headers=h.writer), 404, 2100)
    # A deleted user leaves their teams.
    await h.client.delete(f"/users/{grace['id']}", headers=h.writer)
    assert (await h.client.get(f"/teams/{team['id']}/members", headers=h.auth)).json()["members"] == []


async def test_membership_bad_input(harness: Harness) -> None:
    h = harness
    team = await make_team(h)
    ada = await make_user(h)
    error = assert_error(await h.client.put(f"/teams/{team['id']}/users/{ada['id']}", headers=h.writer,
                                            json={"role": "boss"}), 400, 2001)
    assert any("role" in e for e in error["errors"])
    assert_error(await h.client.put(f"/teams/{team['id']}/users/PNOSUCH1", headers=h.writer), 404, 2100)
    assert (await h.client.get(f"/teams/{team['id']}/members", headers=h.auth)).json()["members"] == []
    assert_error(await h.client.get(f"/teams/{team['id']}/members", headers=h.auth, params={"limit": "x"}), 400, 2001)


async def test_team_permissions(harness: Harness) -> None:
    h = harness
    team = await make_team(h)
    manager = await make_user(h, "Mona Manager", role="user")
    member = await make_user(h, "Rex Responder", role="user")
    await h.client.put(f"/teams/{team['id']}/users/{manager['id']}", headers=h.writer, json={"role": "manager"})
    await h.client.put(f"/teams/{team['id']}/users/{member['id']}", headers=h.writer, json={"role": "responder"})
    as_manager, as_member = await key_for(h, manager["id"]), await key_for(h, member["id"])
    # Plain users may not create teams; a team's manager may edit it and its membership.
    assert_error(await h.client.post("/teams", headers=as_manager, json={"team": {"name": "Mine"}}), 403, 2010)
    resp = await h.client.put(f"/teams/{team['id']}", headers=as_manager, json={"team": {"description": "ours"}})
    assert resp.status_code == 200
    assert (await h.client.put(f"/teams/{team['id']}/users/{member['id']}", headers=as_manager,
                               json={"role": "observer"})).status_code == 204
    # A responder may not; nor may a non-admin delete the team.
    assert_error(await h.client.put(f"/teams/{team['id']}", headers=as_member, json={"team": {"name": "X"}}), 403, 2010)
    assert_error(await h.client.delete(f"/teams/{team['id']}/users/{manager['id']}", headers=as_member), 403, 2010)
    assert_error(await h.client.delete(f"/teams/{team['id']}", headers=as_manager), 403, 2010)
    assert (await h.client.get(f"/teams/{team['id']}", headers=h.auth)).json()["team"]["name"] == "Platform"


async def test_team_changes_are_audited(harness: Harness) -> None:
    h = harness
    team = await make_team(h)
    ada = await make_user(h)
    await h.client.put(f"/teams/{team['id']}", headers=h.writer, json={"team": {"name": "Core"}})
    await h.client.put(f"/teams/{team['id']}/users/{ada['id']}", headers=h.writer, json={"role": "responder"})
    await h.client.delete(f"/teams/{team['id']}/users/{ada['id']}", headers=h.writer)
    await h.client.delete(f"/teams/{team['id']}", headers=h.writer)
    rows = await audit_rows(h, "team", team["id"])
    assert [r.action for r in rows] == ["create", "update", "update", "update", "delete"]
    assert rows[2].fields == [{"name": f"members.{ada['id']}", "value": "responder"}]
    assert rows[3].fields == [{"name": f"members.{ada['id']}", "before_value": "responder"}]
