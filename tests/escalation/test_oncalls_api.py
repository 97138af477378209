"""GET /oncalls and the escalation queries other domains use."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.escalation.helpers import (
    NOW,
    make_policy,
    make_schedule,
    make_team,
    make_user,
    schedule_target,
    user_target,
)
from tests.helpers import assert_error
from tocsin.escalation import queries


@pytest.fixture
async def world(h: Harness) -> dict[str, str]:
    """Ann and Bob rotate daily in "Primary" (Bob has Jan 1 2030, Ann Jan 2, ...); the "Ops"
    policy pages that schedule at level 1 and Cy directly at level 2."""
    ann, bob, cy = await make_user(h, "Ann"), await make_user(h, "Bob"), await make_user(h, "Cy")
    schedule = await make_schedule(h, [ann, bob])
    policy = await make_policy(h, [schedule_target(schedule)], [user_target(cy)], name="Ops")
    return {"ann": ann, "bob": bob, "cy": cy, "schedule": schedule, "policy": policy["id"]}


async def oncalls(h: Harness, params: Any = None) -> list[dict[str, Any]]:
    r = await h.client.get("/oncalls", headers=h.auth, params=params)
    assert r.status_code == 200, r.text
    return r.json()["oncalls"]


def brief(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["escalation_level"], e["user"]["summary"], e["schedule"] and e["schedule"]["id"], e["start"], e["end"])
            for e in entries]


async def test_now_lists_schedule_and_user_targets(h: Harness, world: dict[str, str]) -> None:
    r = await h.client.get("/oncalls", headers=h.auth, params={"escalation_policy_ids[]": world["policy"]})
    assert r.status_code == 200, r.text
    entries = r.json()["oncalls"]
    assert brief(entries) == [
        (1, "Bob", world["schedule"], "2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z"),
        (2, "Cy", None, None, None),  # a user target is on call for good
    ]
    assert entries[0]["escalation_policy"] == {
        "id": world["policy"], "type": "escalation_policy_reference", "summary": "Ops",
        "self": f"http://tocsin.test/escalation_policies/{world['policy']}",
        "html_url": f"http://tocsin.test/ui/escalation_policies/{world['policy']}",
    }
    everyone = await oncalls(h)
    assert {e["escalation_policy"]["summary"] for e in everyone} == {"Ops", "Default"}
    # PagerDuty's schema documents null start/end/schedule for user targets (permanent on-calls)
    # in prose but does not mark them nullable, so the contract is checked on schedule entries.
    r = await h.client.get("/oncalls", headers=h.auth, params={"schedule_ids[]": world["schedule"]})
    assert_conforms(r, "GET", "/oncalls")
    assert len(r.json()["oncalls"]) == 1


async def test_window_filters_and_earliest(h: Harness, world: dict[str, str]) -> None:
    window = {"escalation_policy_ids[]": world["policy"], "since": "2030-01-01T00:00:00Z",
              "until": "2030-01-04T00:00:00Z"}
    assert [(lvl, who, start) for lvl, who, _, start, _ in brief(await oncalls(h, window))] == [
        (1, "Bob", "2030-01-01T00:00:00Z"), (1, "Ann", "2030-01-02T00:00:00Z"), (1, "Bob", "2030-01-03T00:00:00Z"),
        (2, "Cy", None),
    ]
    earliest = await oncalls(h, {**window, "earliest": "true"})
    assert [(lvl, who, start) for lvl, who, _, start, _ in brief(earliest)] == [
        (1, "Bob", "2030-01-01T00:00:00Z"), (1, "Ann", "2030-01-02T00:00:00Z"), (2, "Cy", None)]
    only_ann = await oncalls(h, {**window, "user_ids[]": world["ann"]})
    assert [e["user"]["id"] for e in only_ann] == [world["ann"]]
    only_cy = await oncalls(h, {**window, "user_ids[]": world["cy"]})
    assert brief(only_cy) == [(2, "Cy", None, None, None)]
    from_schedule = await oncalls(h, {**window, "schedule_ids[]": world["schedule"]})
    assert {e["escalation_level"] for e in from_schedule} == {1} and len(from_schedule) == 3


async def test_a_shift_is_reported_whole_even_when_the_window_cuts_it(h: Harness, world: dict[str, str]) -> None:
    entries = await oncalls(h, {"escalation_policy_ids[]": world["policy"], "schedule_ids[]": world["schedule"],
                                "since": "2030-01-01T06:00:00Z", "until": "2030-01-01T07:00:00Z"})
    assert brief(entries) == [(1, "Bob", world["schedule"], "2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z")]


async def test_time_zone_include_and_pagination(h: Harness, world: dict[str, str]) -> None:
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("escalation_policy_ids[]", world["policy"]), ("time_zone", "Asia/Tokyo"), ("include[]", "users"),
        ("since", "2030-01-01T00:00:00Z"), ("until", "2030-01-02T00:00:00Z"), ("schedule_ids[]", world["schedule"]),
        ("include[]", "schedules"), ("include[]", "escalation_policies"), ("limit", "1"), ("total", "true")]
    r = await h.client.get("/oncalls", headers=h.auth, params=params)
    assert r.status_code == 200, r.text  # include[] expands references, which the schema does not describe
    body = r.json()
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (1, 0, False, 1)
    [entry] = body["oncalls"]
    assert entry["start"] == "2030-01-01T09:00:00+09:00"
    user = entry["user"]
    assert user["type"] == "user" and user["name"] == "Bob" and user["email"].endswith("@example.com")
    assert entry["schedule"]["type"] == "schedule" and entry["schedule"]["name"] == "Primary"
    assert entry["escalation_policy"]["type"] == "escalation_policy" and entry["escalation_policy"]["name"] == "Ops"


@pytest.mark.parametrize(("params", "field"), [
    ({"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"}, "until"),
    ({"since": "2030-01-01T00:00:00Z", "until": "2030-06-01T00:00:00Z"}, "until - since"),
    ({"since": "yesterday"}, "since"),
    ({"until": "2030-13-01"}, "until"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"include[]": "teams"}, "include[]"),
    ({"earliest": "maybe"}, "earliest"),
    ({"limit": "x"}, "limit"),
])
async def test_bad_parameters_are_400_naming_them(h: Harness, params: dict[str, str], field: str) -> None:
    error = assert_error(await h.client.get("/oncalls", headers=h.auth, params=params), 400, 2001)
    assert any(e.startswith(field) for e in error["errors"]), error


async def test_deleted_policy_has_no_oncalls(h: Harness, world: dict[str, str]) -> None:
    assert (await h.client.delete(f"/escalation_policies/{world['policy']}", headers=h.writer)).status_code == 204
    assert await oncalls(h, {"escalation_policy_ids[]": world["policy"]}) == []


# --- the queries the incidents domain uses ---------------------------------------------------

async def test_queries_for_other_domains(h: Harness, world: dict[str, str]) -> None:
    team = await make_team(h, "Ops team")
    assert (await h.client.put(f"/teams/{team}/escalation_policies/{world['policy']}",
                               headers=h.writer)).status_code == 204
    gone = await make_policy(h, [user_target(world["ann"])], name="Gone")
    assert (await h.client.delete(f"/escalation_policies/{gone['id']}", headers=h.writer)).status_code == 204
    pid = world["policy"]
    async with h.tocsin.db.transaction() as session:
        assert await queries.policy_refs(session, [pid, gone["id"], "PNOSUCH"]) == {pid: "Ops", gone["id"]: "Gone"}
        assert await queries.existing_policy_ids(session, [pid, gone["id"], "PNOSUCH"]) == {pid}
        assert await queries.policy_team_ids(session, [pid, gone["id"]]) == {pid: [team], gone["id"]: []}
        assert await queries.policy_ids_for_teams(session, [team]) == {pid}
        assert await queries.level_count(session, pid) == 2
        assert await queries.on_call_user_ids(session, pid, 1, NOW) == [world["bob"]]
        assert await queries.on_call_user_ids(session, pid, 1, NOW + timedelta(days=1)) == [world["ann"]]
        assert await queries.on_call_user_ids(session, pid, 2, NOW) == [world["cy"]]
        assert await queries.on_call_user_ids(session, pid, 3, NOW) == []
        # Before the schedule starts nobody is on call at level 1.
        assert await queries.on_call_user_ids(session, pid, 1, NOW - timedelta(days=60)) == []
