"""Schedules over REST (SPEC-NOTES 3): CRUD, rendering, layer history, overrides, on-call users,
preview and validation, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Harness
from tests.helpers import assert_error
from tests.schedules.helpers import DAY, WEEK, at, clock, create, fetch, layer, make_user, schedule_body, spans
from tocsin.schedules.models import ScheduleLayer

# --- CRUD ----------------------------------------------------------------------------------

async def test_create_get_update_delete(h: Harness) -> None:
    a, b = await make_user(h, "Ann"), await make_user(h, "Bob")
    created = await create(h, [a, b], description="first line")
    assert created["type"] == "schedule" and created["name"] == created["summary"] == "Primary"
    assert created["self"].endswith(f"/schedules/{created['id']}")
    assert [u["id"] for u in created["users"]] == [a, b]
    assert created["users"][0]["type"] == "user_reference" and created["users"][0]["summary"] == "Ann"
    [lay] = created["schedule_layers"]
    assert [u["user"]["id"] for u in lay["users"]] == [a, b]
    assert lay["rotation_turn_length_seconds"] == WEEK and lay["restrictions"] == []

    got = await fetch(h, created["id"])
    assert got["description"] == "first line" and got["schedule_layers"][0]["id"] == lay["id"]

    r = await h.client.put(f"/schedules/{created['id']}", headers=h.writer,
                           json={"schedule": {"name": "Renamed", "time_zone": "Europe/Berlin"}})
    assert r.status_code == 200, r.text
    updated = r.json()["schedule"]
    assert (updated["name"], updated["time_zone"], updated["description"]) == ("Renamed", "Europe/Berlin", "first line")
    assert updated["schedule_layers"][0]["id"] == lay["id"]

    r = await h.client.delete(f"/schedules/{created['id']}", headers=h.writer)
    assert r.status_code == 204
    assert_error(await h.client.get(f"/schedules/{created['id']}", headers=h.auth), 404, 2100)
    listed = (await h.client.get("/schedules", headers=h.auth, params={"total": "true"})).json()
    assert listed["total"] == 0 and listed["schedules"] == []


async def test_list_paginates_and_filters_by_query(h: Harness) -> None:
    a = await make_user(h, "Ann")
    for name in ("Beta ops", "Alpha Ops", "Gamma"):
        await create(h, [a], name=name)
    r = await h.client.get("/schedules", headers=h.auth, params={"query": "ops", "total": "true", "limit": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["total"], body["more"], body["limit"], body["offset"]) == (2, True, 1, 0)
    assert [s["name"] for s in body["schedules"]] == ["Alpha Ops"]
    assert [u["id"] for u in body["schedules"][0]["users"]] == [a]
    second = (await h.client.get("/schedules", headers=h.auth, params={"query": "ops", "limit": 1, "offset": 1})).json()
    assert [s["name"] for s in second["schedules"]] == ["Beta ops"] and second["more"] is False
    everything = (await h.client.get("/schedules", headers=h.auth)).json()
    assert [s["name"] for s in everything["schedules"]] == ["Alpha Ops", "Beta ops", "Gamma"]


# --- rendering -----------------------------------------------------------------------------

async def test_weekly_rotation_of_two_users_renders(h: Harness) -> None:
    a, b = await make_user(h, "Ann"), await make_user(h, "Bob")
    created = await create(h, [a, b])
    got = await fetch(h, created["id"], since="2030-01-07T00:00:00Z", until="2030-01-28T00:00:00Z")
    expected = [
        (at("2030-01-07T00:00:00"), at("2030-01-14T00:00:00"), a),
        (at("2030-01-14T00:00:00"), at("2030-01-21T00:00:00"), b),
        (at("2030-01-21T00:00:00"), at("2030-01-28T00:00:00"), a),
    ]
    assert spans(got["final_schedule"]["rendered_schedule_entries"]) == expected
    assert got["final_schedule"]["rendered_coverage_percentage"] == 100.0
    assert spans(got["schedule_layers"][0]["rendered_schedule_entries"]) == expected
    assert got["schedule_layers"][0]["rendered_coverage_percentage"] == 100.0
    assert got["overrides_subschedule"]["rendered_schedule_entries"] == []
    assert got["final_schedule"]["rendered_schedule_entries"][0]["user"]["summary"] == "Ann"

    # Half the window before the layer starts: 50% coverage.
    early = await fetch(h, created["id"], since="2029-12-31T00:00:00Z", until="2030-01-14T00:00:00Z")
    assert early["final_schedule"]["rendered_coverage_percentage"] == 50.0

    # overflow returns whole shifts; time_zone changes the offsets written.
    over = await fetch(h, created["id"], since="2030-01-10T00:00:00Z", until="2030-01-11T00:00:00Z", overflow="true")
    assert spans(over["final_schedule"]["rendered_schedule_entries"]) == [expected[0]]
    berlin = await fetch(h, created["id"], since="2030-01-07T00:00:00Z", until="2030-01-08T00:00:00Z",
                         time_zone="Europe/Berlin")
    assert berlin["final_schedule"]["rendered_schedule_entries"][0]["start"] == "2030-01-07T01:00:00+01:00"


async def test_later_layers_and_restrictions(h: Harness) -> None:
    a, b = await make_user(h, "Ann"), await make_user(h, "Bob")
    daytime = layer([b], rotation_turn_length_seconds=DAY, restrictions=[
        {"type": "daily_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 8 * 3600}])
    r = await h.client.post("/schedules", headers=h.writer, json={"schedule": {
        "name": "Layered", "time_zone": "America/New_York", "schedule_layers": [layer([a]), daytime]}})
    assert r.status_code == 201, r.text
    got = await fetch(h, r.json()["schedule"]["id"], since="2030-01-08T00:00:00Z", until="2030-01-09T00:00:00Z")
    # 09:00-17:00 New York is 14:00-22:00 UTC in January.
    assert spans(got["final_schedule"]["rendered_schedule_entries"]) == [
        (at("2030-01-08T00:00:00"), at("2030-01-08T14:00:00"), a),
        (at("2030-01-08T14:00:00"), at("2030-01-08T22:00:00"), b),
        (at("2030-01-08T22:00:00"), at("2030-01-09T00:00:00"), a),
    ]
    assert got["schedule_layers"][1]["restrictions"][0]["start_time_of_day"] == "09:00:00"
    assert round(got["schedule_layers"][1]["rendered_coverage_percentage"], 2) == 33.33


async def test_editing_a_layer_keeps_its_history(h: Harness) -> None:
    a, b = await make_user(h, "Ann"), await make_user(h, "Bob")
    created = await create(h, [a, b])
    layer_id = created["schedule_layers"][0]["id"]
    window = {"since": "2030-01-07T00:00:00Z", "until": "2030-01-28T00:00:00Z"}
    clock(h).advance(days=16, hours=12)  # now 2030-01-17 12:00, in Bob's turn
    r = await h.client.put(f"/schedules/{created['id']}", headers=h.writer, json={"schedule": {
        "schedule_layers": [layer([b, a], id=layer_id)]}})
    assert r.status_code == 200, r.text
    got = await fetch(h, created["id"], **window)
    [current] = got["schedule_layers"]
    assert current["id"] == layer_id
    assert datetime.fromisoformat(current["start"]) == at("2030-01-17T12:00:00")
    expected = [
        (at("2030-01-07T00:00:00"), at("2030-01-14T00:00:00"), a),  # before the edit: unchanged
        (at("2030-01-14T00:00:00"), at("2030-01-17T12:00:00"), b),
        (at("2030-01-17T12:00:00"), at("2030-01-21T00:00:00"), a),  # turn 1 is now users[1] = Ann
        (at("2030-01-21T00:00:00"), at("2030-01-28T00:00:00"), b),
    ]
    assert spans(got["final_schedule"]["rendered_schedule_entries"]) == expected
    assert spans(current["rendered_schedule_entries"]) == expected

    # Sending back what GET returned changes nothing, so no new version is made.
    async with h.tocsin.db.transaction() as session:
        before = (await session.execute(select(func.count()).select_from(ScheduleLayer))).scalar_one()
    clock(h).advance(days=1)
    resend = {k: current[k] for k in ("id", "start", "end", "rotation_virtual_start",
                                      "rotation_turn_length_seconds", "users", "restrictions", "name")
              if k in current}  # a layer without an end has no "end" (PagerDuty's schema has no null)
    assert "end" not in current
    r = await h.client.put(f"/schedules/{created['id']}", headers=h.writer,
                           json={"schedule": {"schedule_layers": [resend]}})
    assert r.status_code == 200, r.text
    async with h.tocsin.db.transaction() as session:
        after = (await session.execute(select(func.count()).select_from(ScheduleLayer))).scalar_one()
    assert after == before == 2
    assert spans((await fetch(h, created["id"], **window))["final_schedule"]["rendered_schedule_entries"]) == expected

    # Removing the layer ends it now (2030-01-18 12:00) and keeps what came before.
    other = await make_user(h, "Cat")
    r = await h.client.put(f"/schedules/{created['id']}", headers=h.writer,
                           json={"schedule": {"schedule_layers": [layer([other])]}})
    assert r.status_code == 200, r.text
    final = spans((await fetch(h, created["id"], **window))["final_schedule"]["rendered_schedule_entries"])
    assert final == [
        *expected[:2],
        (at("2030-01-17T12:00:00"), at("2030-01-18T12:00:00"), a),
        (at("2030-01-18T12:00:00"), at("2030-01-28T00:00:00"), other),
    ]


async def test_update_with_an_unknown_layer_id_is_refused(h: Harness) -> None:
    a = await make_user(h, "Ann")
    created = await create(h, [a])
    r = await h.client.put(f"/schedules/{created['id']}", headers=h.writer,
                           json={"schedule": {"schedule_layers": [layer([a], id="PNOTALAYER")]}})
    error = assert_error(r, 400, 2001)
    assert any("schedule_layers[0].id" in e for e in error["errors"])


# --- overrides -----------------------------------------------------------------------------

async def test_overrides_single_batch_and_delete(h: Harness) -> None:
    a, b, c = await make_user(h, "Ann"), await make_user(h, "Bob"), await make_user(h, "Cat")
    created = await create(h, [a, b])
    url = f"/schedules/{created['id']}/overrides"
    r = await h.client.post(url, headers=h.writer, json={"override": {
        "start": "2030-01-08T00:00:00Z", "end": "2030-01-09T00:00:00Z", "user": {"id": c, "type": "user_reference"}}})
    assert r.status_code == 201, r.text
    single = r.json()["override"]
    assert single["user"]["id"] == c and datetime.fromisoformat(single["start"]) == at("2030-01-08T00:00:00")

    r = await h.client.post(url, headers=h.writer, json={"overrides": [
        {"start": "2030-01-10T00:00:00Z", "end": "2030-01-11T00:00:00Z", "user": {"id": b}},
        {"start": "2030-01-10T00:00:00Z", "end": "2030-01-11T00:00:00Z", "user": {"id": "PNOBODY"}},
        {"start": "2030-01-12T00:00:00Z", "end": "2030-01-11T00:00:00Z", "user": {"id": b}},
    ]})
    assert r.status_code == 201, r.text
    results = r.json()
    assert [item["status"] for item in results] == [201, 400, 400]
    assert results[0]["override"]["user"]["id"] == b
    assert any("overrides[1].user.id" in e for e in results[1]["errors"])
    assert results[2]["errors"]

    window = {"since": "2030-01-07T00:00:00Z", "until": "2030-01-14T00:00:00Z"}
    got = await fetch(h, created["id"], **window)
    assert spans(got["final_schedule"]["rendered_schedule_entries"]) == [
        (at("2030-01-07T00:00:00"), at("2030-01-08T00:00:00"), a),
        (at("2030-01-08T00:00:00"), at("2030-01-09T00:00:00"), c),
        (at("2030-01-09T00:00:00"), at("2030-01-10T00:00:00"), a),
        (at("2030-01-10T00:00:00"), at("2030-01-11T00:00:00"), b),
        (at("2030-01-11T00:00:00"), at("2030-01-14T00:00:00"), a),
    ]
    assert len(got["overrides_subschedule"]["rendered_schedule_entries"]) == 2
    assert round(got["overrides_subschedule"]["rendered_coverage_percentage"], 2) == 28.57

    listed = (await h.client.get(url, headers=h.auth, params=window)).json()["overrides"]
    assert [o["id"] for o in listed] == [single["id"], results[0]["override"]["id"]]

    r = await h.client.delete(f"{url}/{single['id']}", headers=h.writer)
    assert r.status_code == 204, r.text
    listed = (await h.client.get(url, headers=h.auth, params=window)).json()["overrides"]
    assert [o["id"] for o in listed] == [results[0]["override"]["id"]]
    assert_error(await h.client.delete(f"{url}/{single['id']}", headers=h.writer), 404, 2100)


async def test_single_override_with_unknown_user_is_400(h: Harness) -> None:
    a = await make_user(h, "Ann")
    created = await create(h, [a])
    r = await h.client.post(f"/schedules/{created['id']}/overrides", headers=h.writer, json={"override": {
        "start": "2030-01-08T00:00:00Z", "end": "2030-01-09T00:00:00Z", "user": {"id": "PNOBODY"}}})
    error = assert_error(r, 400, 2001)
    assert any("override.user.id" in e for e in error["errors"])


# --- on-call users and preview ---------------------------------------------------------------

async def test_users_on_call_in_a_window(h: Harness) -> None:
    a, b = await make_user(h, "Ann"), await make_user(h, "Bob")
    created = await create(h, [a, b])
    url = f"/schedules/{created['id']}/users"
    r = await h.client.get(url, headers=h.auth,
                           params={"since": "2030-01-07T00:00:00Z", "until": "2030-01-10T00:00:00Z"})
    assert r.status_code == 200, r.text
    assert [(u["id"], u["type"], u["name"]) for u in r.json()["users"]] == [(a, "user", "Ann")]
    r = await h.client.get(url, headers=h.auth,
                           params={"since": "2030-01-07T00:00:00Z", "until": "2030-01-15T00:00:00Z"})
    assert [u["id"] for u in r.json()["users"]] == [a, b]
    # The default window is now (2030-01-01) to two weeks later: both users.
    assert [u["id"] for u in (await h.client.get(url, headers=h.auth)).json()["users"]] == [a, b]


async def test_preview_renders_without_saving(h: Harness) -> None:
    a, b = await make_user(h, "Ann"), await make_user(h, "Bob")
    r = await h.client.post("/schedules/preview", headers=h.writer, json=schedule_body([a, b]),
                            params={"since": "2030-01-07T00:00:00Z", "until": "2030-01-21T00:00:00Z"})
    assert r.status_code == 200, r.text
    body = r.json()["schedule"]
    assert spans(body["final_schedule"]["rendered_schedule_entries"]) == [
        (at("2030-01-07T00:00:00"), at("2030-01-14T00:00:00"), a),
        (at("2030-01-14T00:00:00"), at("2030-01-21T00:00:00"), b),
    ]
    listed = (await h.client.get("/schedules", headers=h.auth, params={"total": "true"})).json()
    assert listed["total"] == 0
    bad = await h.client.post("/schedules/preview", headers=h.writer, json=schedule_body(["PNOBODY"]))
    assert_error(bad, 400, 2001)


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ({"schedule_layers": [layer(["USER"], rotation_turn_length_seconds=0)]}, "rotation_turn_length_seconds"),
    ({"schedule_layers": [layer(["PNOBODY"])]}, "schedule.schedule_layers[0].users[0].user.id"),
    ({"name": None}, "name"),
    ({"schedule_layers": []}, "schedule_layers"),
    ({"schedule_layers": [layer(["USER"], restrictions=[
        {"type": "weekly_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 3600}])]}, "restrictions"),
    ({"schedule_layers": [layer(["USER"], restrictions=[
        {"type": "daily_restriction", "start_time_of_day": "25:00:00", "duration_seconds": 3600}])]},
        "start_time_of_day"),
])
async def test_invalid_schedules_are_400(h: Harness, change: dict[str, Any], field: str) -> None:
    a = await make_user(h, "Ann")
    body = schedule_body([a])
    for key, value in change.items():
        if key == "schedule_layers":
            value = [{**lay, "users": [{"user": {"id": a if u["user"]["id"] == "USER" else u["user"]["id"]}}
                                       for u in lay["users"]]} for lay in value]
        body["schedule"][key] = value
    if change == {"name": None}:
        del body["schedule"]["name"]
    error = assert_error(await h.client.post("/schedules", headers=h.writer, json=body), 400, 2001)
    assert any(field in e for e in error["errors"]), error
    listed = (await h.client.get("/schedules", headers=h.auth, params={"total": "true"})).json()
    assert listed["total"] == 0


@pytest.mark.parametrize("params", [
    {"since": "2030-01-10T00:00:00Z", "until": "2030-01-09T00:00:00Z"},
    {"since": "2030-01-01T00:00:00Z", "until": "2031-03-01T00:00:00Z"},
    {"since": "not a date"},
    {"time_zone": "Nowhere/Special"},
])
async def test_bad_windows_are_400(h: Harness, params: dict[str, str]) -> None:
    a = await make_user(h, "Ann")
    created = await create(h, [a])
    for path in (f"/schedules/{created['id']}", f"/schedules/{created['id']}/users"):
        if path.endswith("/users") and "time_zone" in params:
            continue
        assert_error(await h.client.get(path, headers=h.auth, params=params), 400, 2001)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/schedules/PNOSUCHTHING"),
    ("PUT", "/schedules/PNOSUCHTHING"),
    ("DELETE", "/schedules/PNOSUCHTHING"),
    ("GET", "/schedules/PNOSUCHTHING/users"),
    ("GET", "/schedules/PNOSUCHTHING/overrides"),
    ("POST", "/schedules/PNOSUCHTHING/overrides"),
    ("DELETE", "/schedules/PNOSUCHTHING/overrides/PNOSUCHOVERRIDE"),
])
async def test_unknown_schedule_is_404(h: Harness, method: str, path: str) -> None:
    bodies = {"PUT": {"schedule": {"name": "x"}},
              "POST": {"override": {"start": "2030-01-08T00:00:00Z", "end": "2030-01-09T00:00:00Z",
                                    "user": {"id": "PX"}}}}
    r = await h.client.request(method, path, headers=h.writer, json=bodies.get(method))
    assert_error(r, 404, 2100)


async def test_a_one_second_rotation_is_saved_but_rendered_only_in_small_windows(h: Harness) -> None:
    a, b = await make_user(h, "Ann"), await make_user(h, "Bob")
    r = await h.client.post("/schedules", headers=h.writer, json={"schedule": {
        "name": "Dense", "schedule_layers": [layer([a, b], rotation_turn_length_seconds=1)]}})
    assert r.status_code == 201, r.text
    created = r.json()["schedule"]
    assert "final_schedule" not in created and created["schedule_layers"][0]["rotation_turn_length_seconds"] == 1
    assert_error(await h.client.get(f"/schedules/{created['id']}", headers=h.auth), 400, 2001)
    small = await fetch(h, created["id"], since="2030-01-07T00:00:00Z", until="2030-01-07T00:01:00Z")
    assert len(small["final_schedule"]["rendered_schedule_entries"]) == 60


async def test_naive_times_are_read_in_the_schedule_zone(h: Harness) -> None:
    a = await make_user(h, "Ann")
    created = await create(h, [a], time_zone="Asia/Tokyo", schedule_layers=[
        layer([a], start="2030-01-07T09:00:00", rotation_virtual_start="2030-01-07T09:00:00")])
    [lay] = created["schedule_layers"]
    assert lay["start"] == "2030-01-07T09:00:00+09:00"
    assert datetime.fromisoformat(lay["start"]) == at("2030-01-07T00:00:00")
