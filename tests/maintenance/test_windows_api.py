"""/maintenance_windows over REST: CRUD, every list filter, the From header, PagerDuty's
contract per route, bad input per field and the 405 on deleting an ended window."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tests.maintenance.helpers import HOUR, T0, clock, create_window, stamp, window_body, window_id
from tocsin.audit.models import AuditRecord


async def audit_actions(h: Harness, resource_id: str) -> list[tuple[str, list[str]]]:
    async with h.tocsin.db.transaction() as session:
        rows = (await session.execute(select(AuditRecord).where(AuditRecord.root_id == resource_id))).scalars()
        # The clock is frozen, so records of one instant are put in lifecycle order.
        ordered = sorted(rows, key=lambda r: (r.execution_time, ["create", "update", "delete"].index(r.action)))
        return [(r.action, sorted(f["name"] for f in r.fields)) for r in ordered]


async def add_service(h: Harness, name: str) -> str:
    resp = await h.client.post("/services", headers=h.writer, json={"service": {
        "name": name, "escalation_policy": {"id": h.seed.escalation_policy_id, "type": "escalation_policy_reference"}}})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["service"]["id"])


async def test_create_then_get_follow_pagerduty_contract(h: Harness) -> None:
    resp = await create_window(h, T0 + HOUR, T0 + 2 * HOUR)
    assert_conforms(resp, "POST", "/maintenance_windows", 201)
    window = resp.json()["maintenance_window"]
    assert window["type"] == "maintenance_window" and window["id"].startswith("P")
    assert (window["start_time"], window["end_time"]) == (stamp(T0 + HOUR), stamp(T0 + 2 * HOUR))
    assert window["summary"] == window["description"] == "Upgrading the database"
    assert window["sequence_number"] == 1
    assert [s["id"] for s in window["services"]] == [h.seed.service_id]
    assert window["services"][0]["type"] == "service_reference"
    assert window["created_by"]["type"] == "user_reference"
    assert window["teams"] == []
    assert window["self"] == f"http://tocsin.test/maintenance_windows/{window['id']}"

    got = await h.client.get(f"/maintenance_windows/{window['id']}", headers=h.auth)
    assert_conforms(got, "GET", "/maintenance_windows/{id}", 200)
    assert got.json()["maintenance_window"] == window
    assert await audit_actions(h, window["id"]) == [("create", ["description", "end_time", "services", "start_time"])]

    second = await create_window(h, T0 + HOUR, T0 + 2 * HOUR)
    assert second.json()["maintenance_window"]["sequence_number"] == 2


async def test_a_start_in_the_past_becomes_now(h: Harness) -> None:
    resp = await create_window(h, T0 - 5 * HOUR, T0 + HOUR)
    assert resp.status_code == 201
    assert resp.json()["maintenance_window"]["start_time"] == stamp(T0)


async def test_create_names_the_acting_user_from_the_from_header(h: Harness) -> None:
    resp = await h.client.post("/maintenance_windows", json=window_body(T0, T0 + HOUR, [h.seed.service_id or ""]),
                               headers=h.auth)
    error = assert_error(resp, 400, 2001)
    assert "From" in error["message"] + " ".join(error["errors"])
    unknown = await h.client.post("/maintenance_windows", json=window_body(T0, T0 + HOUR, [h.seed.service_id or ""]),
                                  headers={**h.auth, "From": "nobody@example.com"})
    assert_error(unknown, 400, 2001)
    created = await create_window(h, T0, T0 + HOUR)
    creator = created.json()["maintenance_window"]["created_by"]
    got = await h.client.get(f"/maintenance_windows/{created.json()['maintenance_window']['id']}",
                             params={"include[]": "users"}, headers=h.auth)
    user = got.json()["maintenance_window"]["created_by"]
    assert user["id"] == creator["id"] and user["type"] == "user" and user["email"] == h.seed.admin_email
    async with h.tocsin.db.transaction() as session:
        assert (await session.execute(select(AuditRecord))).scalars().all() != []


def _with(field: str, value: Any) -> dict[str, Any]:
    body = window_body(T0 + HOUR, T0 + 2 * HOUR, ["SERVICE"])
    if value is _DROP:
        del body["maintenance_window"][field]
    else:
        body["maintenance_window"][field] = value
    return body


_DROP = object()
BAD_CREATES = [
    ("start_time", _DROP, "start_time"),
    ("end_time", _DROP, "end_time"),
    ("services", _DROP, "services"),
    ("start_time", "tomorrow-ish", "start_time"),
    ("end_time", 12.5e99, "end_time"),
    ("start_time", None, "start_time"),
    ("end_time", stamp(T0 - HOUR), "end_time"),  # ended already
    ("end_time", stamp(T0 + HOUR), "end_time"),  # not after the start
    ("start_time", "0001-01-01T00:00:00Z", "start_time"),
    ("services", [], "services"),
    ("services", None, "services"),
    ("services", [{"id": "PNOSUCH1", "type": "service_reference"}], "services"),
    ("services", [{"type": "service_reference"}], "services"),
    ("services", "PXXXXXX", "services"),
    ("description", "x" * 1025, "description"),
    ("description", 42, "description"),
    ("type", "incident", "type"),
]


@pytest.mark.parametrize(("field", "value", "named"), BAD_CREATES)
async def test_bad_create_input_is_refused_naming_the_field(h: Harness, field: str, value: Any, named: str) -> None:
    body = _with(field, value)
    for ref in body["maintenance_window"].get("services") or []:
        if isinstance(ref, dict) and ref.get("id") == "SERVICE":
            ref["id"] = h.seed.service_id
    resp = await h.client.post("/maintenance_windows", json=body, headers=h.writer)
    error = assert_error(resp, 400, 2001)
    assert any(named in e for e in error["errors"]), error
    listed = await h.client.get("/maintenance_windows", headers=h.auth)
    assert listed.json()["maintenance_windows"] == []  # no partial write


@pytest.mark.parametrize("body", [{}, {"maintenance_window": None}, {"maintenance_window": "x"}, []])
async def test_a_missing_or_malformed_envelope_names_maintenance_window(h: Harness, body: Any) -> None:
    resp = await h.client.post("/maintenance_windows", json=body, headers=h.writer)
    error = assert_error(resp, 400, 2001)
    assert any("maintenance_window" in e or "body" in e for e in error["errors"]), error


async def test_unknown_ids_are_404(h: Harness) -> None:
    for method in ("GET", "DELETE"):
        assert_error(await h.client.request(method, "/maintenance_windows/PNOSUCH1", headers=h.writer), 404, 2100)
    put = await h.client.put("/maintenance_windows/PNOSUCH1", json={"maintenance_window": {"description": "x"}},
                             headers=h.writer)
    assert_error(put, 404, 2100)
    assert_error(await h.client.get("/maintenance_windows/PNOSUCH1/suppressed_events", headers=h.auth), 404, 2100)


async def _three_windows(h: Harness) -> dict[str, str]:
    """An ended window, an ongoing one and a future one, as seen at T0 + 2h."""
    other = await add_service(h, "Billing")
    ids = {
        "past": await window_id(h, T0, T0 + HOUR, description="Old kernel patch"),
        "ongoing": await window_id(h, T0, T0 + 5 * HOUR, description="Database upgrade",
                                   services=[h.seed.service_id or "", other]),
        "future": await window_id(h, T0 + 3 * HOUR, T0 + 4 * HOUR, description="Network 50% cutover",
                                  services=[other]),
    }
    clock(h).advance(hours=2)
    return ids | {"other_service": other}


@pytest.mark.parametrize(("filter_", "expected"), [
    ("past", ["past"]), ("future", ["future"]), ("ongoing", ["ongoing"]),
    ("open", ["ongoing", "future"]), ("all", ["past", "ongoing", "future"]), (None, ["past", "ongoing", "future"]),
])
async def test_filter_by_state(h: Harness, filter_: str | None, expected: list[str]) -> None:
    ids = await _three_windows(h)
    params = {"filter": filter_} if filter_ else {}
    resp = await h.client.get("/maintenance_windows", params=params, headers=h.auth)
    assert_conforms(resp, "GET", "/maintenance_windows", 200)
    assert [w["id"] for w in resp.json()["maintenance_windows"]] == [ids[k] for k in expected]


async def test_filter_by_query_services_and_teams(h: Harness) -> None:
    ids = await _three_windows(h)

    async def listed(**params: Any) -> list[str]:
        resp = await h.client.get("/maintenance_windows", params=params, headers=h.auth)
        assert resp.status_code == 200, resp.text
        return [w["id"] for w in resp.json()["maintenance_windows"]]

    assert await listed(query="database") == [ids["ongoing"]]  # case-insensitive
    assert await listed(query="50%") == [ids["future"]]  # % taken literally
    assert await listed(**{"service_ids[]": h.seed.service_id}) == [ids["past"], ids["ongoing"]]
    assert await listed(**{"service_ids[]": ids["other_service"]}) == [ids["ongoing"], ids["future"]]
    assert await listed(**{"service_ids[]": "PNOSUCH1"}) == []
    assert await listed(**{"service_ids[]": ids["other_service"], "filter": "future"}) == [ids["future"]]
    assert await listed(**{"team_ids[]": "PTEAM01"}) == []


async def test_pagination_and_includes(h: Harness) -> None:
    ids = await _three_windows(h)
    first = await h.client.get("/maintenance_windows", params={"limit": 2, "total": "true"}, headers=h.auth)
    body = first.json()
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (2, 0, True, 3)
    rest = (await h.client.get("/maintenance_windows", params={"limit": 2, "offset": 2}, headers=h.auth)).json()
    assert [w["id"] for w in rest["maintenance_windows"]] == [ids["future"]] and rest["more"] is False
    assert rest["total"] is None

    expanded = await h.client.get("/maintenance_windows", params={"include[]": ["services", "users"]}, headers=h.auth)
    window = expanded.json()["maintenance_windows"][0]
    assert window["services"][0]["type"] == "service" and window["services"][0]["name"]
    assert window["created_by"]["type"] == "user"
    assert_error(await h.client.get("/maintenance_windows", params={"include[]": "pets"}, headers=h.auth), 400, 2001)
    bad_filter = assert_error(await h.client.get("/maintenance_windows", params={"filter": "soon"}, headers=h.auth),
                              400, 2001)
    assert "filter" in bad_filter["errors"][0]
    assert_error(await h.client.get("/maintenance_windows", params={"limit": "many"}, headers=h.auth), 400, 2001)


async def test_update_changes_fields_and_records_the_change(h: Harness) -> None:
    wid = await window_id(h, T0 + HOUR, T0 + 2 * HOUR)
    other = await add_service(h, "Billing")
    body = {"maintenance_window": {"type": "maintenance_window", "description": "Longer upgrade",
                                   "end_time": stamp(T0 + 6 * HOUR), "services": [{"id": other}]}}
    resp = await h.client.put(f"/maintenance_windows/{wid}", json=body, headers=h.writer)
    assert_conforms(resp, "PUT", "/maintenance_windows/{id}", 200)
    window = resp.json()["maintenance_window"]
    assert window["description"] == "Longer upgrade" and window["end_time"] == stamp(T0 + 6 * HOUR)
    assert window["start_time"] == stamp(T0 + HOUR)
    assert [s["id"] for s in window["services"]] == [other]
    assert (await audit_actions(h, wid))[-1] == ("update", ["description", "end_time", "services"])

    # A no-op update records nothing.
    await h.client.put(f"/maintenance_windows/{wid}", json={"maintenance_window": {"description": "Longer upgrade"}},
                       headers=h.writer)
    assert len(await audit_actions(h, wid)) == 2


@pytest.mark.parametrize(("fields", "named"), [
    ({"start_time": None}, "start_time"),
    ({"services": []}, "services"),
    ({"services": [{"id": "PNOSUCH1"}]}, "services"),
    ({"end_time": stamp(T0 + HOUR / 2)}, "end_time"),  # before the start
    ({"start_time": "later"}, "start_time"),
])
async def test_bad_update_input_is_refused_and_changes_nothing(h: Harness, fields: dict[str, Any], named: str) -> None:
    wid = await window_id(h, T0 + HOUR, T0 + 2 * HOUR)
    before = (await h.client.get(f"/maintenance_windows/{wid}", headers=h.auth)).json()
    resp = await h.client.put(f"/maintenance_windows/{wid}", json={"maintenance_window": fields}, headers=h.writer)
    error = assert_error(resp, 400, 2001)
    assert any(named in e for e in error["errors"]), error
    assert (await h.client.get(f"/maintenance_windows/{wid}", headers=h.auth)).json() == before


async def test_an_ongoing_window_keeps_its_start_when_the_client_echoes_it(h: Harness) -> None:
    wid = await window_id(h, T0, T0 + 3 * HOUR)
    clock(h).advance(hours=1)
    body = {"maintenance_window": {"start_time": stamp(T0), "end_time": stamp(T0 + 4 * HOUR)}}
    resp = await h.client.put(f"/maintenance_windows/{wid}", json=body, headers=h.writer)
    assert resp.status_code == 200, resp.text
    assert resp.json()["maintenance_window"]["start_time"] == stamp(T0)


async def test_an_ended_window_cannot_be_changed_or_deleted(h: Harness) -> None:
    wid = await window_id(h, T0, T0 + HOUR)
    clock(h).advance(hours=1)  # the end is exclusive: at end_time the window has ended
    put = await h.client.put(f"/maintenance_windows/{wid}", json={"maintenance_window": {"description": "x"}},
                             headers=h.writer)
    assert_error(put, 400, 2001)
    deleted = await h.client.delete(f"/maintenance_windows/{wid}", headers=h.writer)
    error = assert_error(deleted, 405, 2100)
    assert "ended" in error["message"]
    got = (await h.client.get(f"/maintenance_windows/{wid}", headers=h.auth)).json()["maintenance_window"]
    assert got["description"] == "Upgrading the database"
    assert [a for a, _ in await audit_actions(h, wid)] == ["create"]


async def test_deleting_a_future_window_removes_it(h: Harness) -> None:
    wid = await window_id(h, T0 + HOUR, T0 + 2 * HOUR)
    resp = await h.client.delete(f"/maintenance_windows/{wid}", headers=h.writer)
    assert resp.status_code == 204 and resp.content == b""
    assert_error(await h.client.get(f"/maintenance_windows/{wid}", headers=h.auth), 404, 2100)
    assert (await h.client.get("/maintenance_windows", headers=h.auth)).json()["maintenance_windows"] == []
    assert [a for a, _ in await audit_actions(h, wid)] == ["create", "delete"]
    assert_error(await h.client.delete(f"/maintenance_windows/{wid}", headers=h.writer), 404, 2100)


async def test_deleting_an_ongoing_window_ends_it_now(h: Harness) -> None:
    wid = await window_id(h, T0, T0 + 3 * HOUR)
    clock(h).advance(minutes=30)
    assert (await h.client.delete(f"/maintenance_windows/{wid}", headers=h.writer)).status_code == 204
    window = (await h.client.get(f"/maintenance_windows/{wid}", headers=h.auth)).json()["maintenance_window"]
    assert window["end_time"] == stamp(T0 + HOUR / 2)
    past = (await h.client.get("/maintenance_windows", params={"filter": "past"}, headers=h.auth)).json()
    assert [w["id"] for w in past["maintenance_windows"]] == [wid]
    assert (await audit_actions(h, wid))[-1] == ("update", ["end_time"])


async def test_read_only_keys_cannot_write(h: Harness) -> None:
    from tocsin.auth.logic import issue_api_key

    async with h.tocsin.db.transaction() as session:
        key = await issue_api_key(session, T0, description="ro", read_only=True)
    headers = {"Authorization": f"Token token={key}", "From": h.seed.admin_email}
    resp = await h.client.post("/maintenance_windows", json=window_body(T0, T0 + HOUR, [h.seed.service_id or ""]),
                               headers=headers)
    assert_error(resp, 403, 2010)
    assert (await h.client.get("/maintenance_windows", headers=headers)).status_code == 200


async def test_the_service_shows_nothing_new(h: Harness) -> None:
    path = f"/services/{h.seed.service_id}"
    before = (await h.client.get(path, headers=h.auth)).json()["service"]
    await window_id(h, T0, T0 + HOUR)
    after = (await h.client.get(path, headers=h.auth)).json()["service"]
    assert after == before and after["status"] == "active"
