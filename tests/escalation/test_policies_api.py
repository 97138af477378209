"""Escalation policies over REST (issue 3): CRUD, include[], filters, validation, the team
association routes, deleting a policy in use, audit records and schedule-gap warnings."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.escalation.helpers import (
    make_policy,
    make_schedule,
    make_team,
    make_user,
    policy_body,
    schedule_target,
    user_target,
)
from tests.helpers import assert_error
from tocsin.audit.models import AuditRecord

BASE = "http://tocsin.test"


async def audit_actions(h: Harness, policy_id: str) -> list[tuple[str, list[str]]]:
    async with h.tocsin.db.transaction() as session:
        rows = (await session.execute(
            select(AuditRecord).where(AuditRecord.root_type == "escalation_policy", AuditRecord.root_id == policy_id)
            .order_by(AuditRecord.execution_time, AuditRecord.id)
        )).scalars()
        return [(r.action,
                 sorted(f["name"] if isinstance(f, dict) else str(f) for f in (r.fields or []))) for r in rows]


async def count_policies(h: Harness) -> int:
    r = await h.client.get("/escalation_policies", headers=h.auth, params={"total": "true"})
    assert r.status_code == 200, r.text
    return r.json()["total"]


# --- CRUD ------------------------------------------------------------------------------------

async def test_create_get_update_delete_with_audit(h: Harness) -> None:
    ann, bob = await make_user(h, "Ann"), await make_user(h, "Bob")
    schedule = await make_schedule(h, [ann, bob], name="Primary rota")
    r = await h.client.post("/escalation_policies", headers=h.writer, json=policy_body(
        [schedule_target(schedule)], [user_target(bob)], name="Checkout", description="pay", num_loops=2,
        on_call_handoff_notifications="always"))
    assert r.status_code == 201, r.text
    assert_conforms(r, "POST", "/escalation_policies")
    policy = r.json()["escalation_policy"]
    assert policy["type"] == "escalation_policy" and policy["name"] == policy["summary"] == "Checkout"
    assert policy["self"] == f"{BASE}/escalation_policies/{policy['id']}"
    assert (policy["description"], policy["num_loops"], policy["on_call_handoff_notifications"]) == ("pay", 2, "always")
    first, second = policy["escalation_rules"]
    assert first["targets"][0] | {} == {**first["targets"][0], "id": schedule, "type": "schedule_reference",
                                        "summary": "Primary rota"}
    assert second["targets"][0]["summary"] == "Bob" and second["targets"][0]["type"] == "user_reference"
    assert policy["services"] == [] and policy["teams"] == [] and policy["warnings"] == []

    got = await h.client.get(f"/escalation_policies/{policy['id']}", headers=h.auth)
    assert_conforms(got, "GET", "/escalation_policies/{id}")
    assert got.json()["escalation_policy"] == policy

    r = await h.client.put(f"/escalation_policies/{policy['id']}", headers=h.writer,
                           json={"escalation_policy": {"name": "Checkout v2", "escalation_rules": [
                               {"id": second["id"], "escalation_delay_in_minutes": 5, "targets": [user_target(ann)]}]}})
    assert r.status_code == 200, r.text
    assert_conforms(r, "PUT", "/escalation_policies/{id}")
    updated = r.json()["escalation_policy"]
    assert updated["name"] == "Checkout v2" and updated["num_loops"] == 2 and updated["description"] == "pay"
    [rule] = updated["escalation_rules"]
    assert rule["id"] == second["id"]  # a rule sent back with its id keeps it
    assert (rule["escalation_delay_in_minutes"], [t["id"] for t in rule["targets"]]) == (5, [ann])

    assert (await h.client.delete(f"/escalation_policies/{policy['id']}", headers=h.writer)).status_code == 204
    assert_error(await h.client.get(f"/escalation_policies/{policy['id']}", headers=h.auth), 404, 2100)
    actions = await audit_actions(h, policy["id"])
    assert sorted(a for a, _ in actions) == ["create", "delete", "update"]  # one clock instant: any order
    [update_fields] = [fields for a, fields in actions if a == "update"]
    assert "escalation_rules" in update_fields and "name" in update_fields and "description" not in update_fields


async def test_update_that_changes_nothing_records_nothing(h: Harness) -> None:
    policy = await make_policy(h, [user_target(await make_user(h, "Cy"))])
    r = await h.client.put(f"/escalation_policies/{policy['id']}", headers=h.writer,
                           json={"escalation_policy": {"name": policy["name"]}})
    assert r.status_code == 200
    assert [a for a, _ in await audit_actions(h, policy["id"])] == ["create"]


# --- list ------------------------------------------------------------------------------------

async def test_list_filters_sorting_and_pagination(h: Harness) -> None:
    ann, bob = await make_user(h, "Ann"), await make_user(h, "Bob")
    team = await make_team(h, "Payments")
    alpha = await make_policy(h, [user_target(ann)], name="Alpha", teams=[{"id": team, "type": "team_reference"}])
    beta = await make_policy(h, [user_target(bob)], name="Beta")

    async def names(**params: Any) -> list[str]:
        r = await h.client.get("/escalation_policies", headers=h.auth, params=params)
        assert r.status_code == 200, r.text
        return [p["name"] for p in r.json()["escalation_policies"]]

    assert await names() == ["Alpha", "Beta", "Default"]
    assert await names(sort_by="name:desc") == ["Default", "Beta", "Alpha"]
    assert await names(query="ALP") == ["Alpha"]
    assert await names(**{"user_ids[]": bob}) == ["Beta"]
    assert await names(**{"team_ids[]": team}) == ["Alpha"]
    r = await h.client.get("/escalation_policies", headers=h.auth, params={"limit": 1, "offset": 1, "total": "true"})
    assert_conforms(r, "GET", "/escalation_policies")
    body = r.json()
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (1, 1, True, 3)
    assert [p["id"] for p in body["escalation_policies"]] == [beta["id"]]
    assert alpha["teams"][0]["id"] == team and alpha["teams"][0]["summary"] == "Payments"
    assert_error(await h.client.get("/escalation_policies", headers=h.auth, params={"sort_by": "created_at"}), 400,
                 2001)


async def test_include_expands_services_teams_and_targets(h: Harness) -> None:
    ann = await make_user(h, "Ann")
    team = await make_team(h, "Core")
    policy = await make_policy(h, [user_target(ann)], teams=[{"id": team, "type": "team_reference"}])
    r = await h.client.post("/services", headers=h.auth, json={"service": {
        "name": "Web", "escalation_policy": {"id": policy["id"], "type": "escalation_policy_reference"}}})
    assert r.status_code == 201, r.text
    plain = (await h.client.get(f"/escalation_policies/{policy['id']}", headers=h.auth)).json()["escalation_policy"]
    assert plain["services"][0]["type"] == "service_reference" and plain["services"][0]["summary"] == "Web"
    r = await h.client.get(f"/escalation_policies/{policy['id']}", headers=h.auth,
                           params=[("include[]", "services"), ("include[]", "teams"), ("include[]", "targets")])
    assert r.status_code == 200, r.text
    full = r.json()["escalation_policy"]
    assert full["services"][0]["type"] == "service" and full["services"][0]["name"] == "Web"
    assert full["teams"][0]["type"] == "team" and full["teams"][0]["name"] == "Core"
    target = full["escalation_rules"][0]["targets"][0]
    assert target["type"] == "user" and target["name"] == "Ann" and "@example.com" in target["email"]
    assert_error(await h.client.get(f"/escalation_policies/{policy['id']}", headers=h.auth,
                                    params={"include[]": "everything"}), 400, 2001)


# --- validation ------------------------------------------------------------------------------

def _rule(**fields: Any) -> dict[str, Any]:
    return {"escalation_delay_in_minutes": 30, "targets": [{"id": "USER", "type": "user_reference"}], **fields}


BAD = [
    ("missing wrapper", {"name": "x"}, "escalation_policy"),
    ("missing name", {"escalation_policy": {"escalation_rules": [_rule()]}}, "escalation_policy.name"),
    ("empty name", {"escalation_policy": {"name": "", "escalation_rules": [_rule()]}}, "escalation_policy.name"),
    ("name a number", {"escalation_policy": {"name": 3, "escalation_rules": [_rule()]}}, "escalation_policy.name"),
    ("missing rules", {"escalation_policy": {"name": "x"}}, "escalation_policy.escalation_rules"),
    ("no rules", {"escalation_policy": {"name": "x", "escalation_rules": []}}, "escalation_policy.escalation_rules"),
    ("rules not a list", {"escalation_policy": {"name": "x", "escalation_rules": "r"}},
     "escalation_policy.escalation_rules"),
    ("missing delay", {"escalation_policy": {"name": "x", "escalation_rules": [{"targets": _rule()["targets"]}]}},
     "escalation_policy.escalation_rules.0.escalation_delay_in_minutes"),
    ("zero delay", {"escalation_policy": {"name": "x", "escalation_rules": [_rule(escalation_delay_in_minutes=0)]}},
     "escalation_policy.escalation_rules.0.escalation_delay_in_minutes"),
    ("delay a word",
     {"escalation_policy": {"name": "x", "escalation_rules": [_rule(escalation_delay_in_minutes="soon")]}},
     "escalation_policy.escalation_rules.0.escalation_delay_in_minutes"),
    ("delay over a week",
     {"escalation_policy": {"name": "x", "escalation_rules": [_rule(escalation_delay_in_minutes=10081)]}},
     "escalation_policy.escalation_rules.0.escalation_delay_in_minutes"),
    ("no targets", {"escalation_policy": {"name": "x", "escalation_rules": [_rule(targets=[])]}},
     "escalation_policy.escalation_rules.0.targets"),
    ("eleven targets",
     {"escalation_policy": {"name": "x", "escalation_rules": [_rule(targets=_rule()["targets"] * 11)]}},
     "escalation_policy.escalation_rules.0.targets"),
    ("target of a bad type",
     {"escalation_policy": {"name": "x",
                            "escalation_rules": [_rule(targets=[{"id": "P1", "type": "team_reference"}])]}},
     "escalation_policy.escalation_rules.0.targets.0.type"),
    ("target without id",
     {"escalation_policy": {"name": "x", "escalation_rules": [_rule(targets=[{"type": "user_reference"}])]}},
     "escalation_policy.escalation_rules.0.targets.0.id"),
    ("negative loops", {"escalation_policy": {"name": "x", "num_loops": -1, "escalation_rules": [_rule()]}},
     "escalation_policy.num_loops"),
    ("ten loops", {"escalation_policy": {"name": "x", "num_loops": 10, "escalation_rules": [_rule()]}},
     "escalation_policy.num_loops"),
    ("loops a word", {"escalation_policy": {"name": "x", "num_loops": "many", "escalation_rules": [_rule()]}},
     "escalation_policy.num_loops"),
    ("handoff unknown",
     {"escalation_policy": {"name": "x", "on_call_handoff_notifications": "never", "escalation_rules": [_rule()]}},
     "escalation_policy.on_call_handoff_notifications"),
    ("teams not a list", {"escalation_policy": {"name": "x", "teams": "t", "escalation_rules": [_rule()]}},
     "escalation_policy.teams"),
]


@pytest.mark.parametrize(("body", "field"), [pytest.param(b, f, id=i) for i, b, f in BAD])
async def test_bad_create_is_400_naming_the_field_and_writes_nothing(h: Harness, body: Any, field: str) -> None:
    before = await count_policies(h)
    error = assert_error(await h.client.post("/escalation_policies", headers=h.writer, json=body), 400, 2001)
    assert any(e.startswith(field) for e in error["errors"]), error
    assert await count_policies(h) == before


@pytest.mark.parametrize("kind", ["user", "schedule", "team"])
async def test_unknown_reference_is_400_naming_it(h: Harness, kind: str) -> None:
    ann = await make_user(h, "Ann")
    levels = [[user_target(ann)], [user_target(ann)]]
    fields: dict[str, Any] = {}
    if kind == "user":
        levels[1].append(user_target("PNOUSER"))
        field = "escalation_policy.escalation_rules[1].targets[1].id: user PNOUSER"
    elif kind == "schedule":
        levels[0].insert(0, schedule_target("PNOSCHED"))
        field = "escalation_policy.escalation_rules[0].targets[0].id: schedule PNOSCHED"
    else:
        fields["teams"] = [{"id": "PNOTEAM", "type": "team_reference"}]
        field = "escalation_policy.teams[0].id: team PNOTEAM"
    before = await count_policies(h)
    r = await h.client.post("/escalation_policies", headers=h.writer, json=policy_body(*levels, **fields))
    error = assert_error(r, 400, 2001)
    assert any(e.startswith(field) for e in error["errors"]), error
    assert await count_policies(h) == before


async def test_bad_update_changes_nothing(h: Harness) -> None:
    policy = await make_policy(h, [user_target(await make_user(h, "Ann"))])
    url = f"/escalation_policies/{policy['id']}"
    for body, field in [
        ({"escalation_policy": {"name": None}}, "escalation_policy.name"),
        ({"escalation_policy": {"escalation_rules": None}}, "escalation_policy.escalation_rules"),
        ({"escalation_policy": {"num_loops": 99}}, "escalation_policy.num_loops"),
        ({"escalation_policy": {"name": "new", "escalation_rules": [_rule(targets=[user_target("PGHOST")])]}},
         "escalation_policy.escalation_rules[0].targets[0].id"),
    ]:
        error = assert_error(await h.client.put(url, headers=h.writer, json=body), 400, 2001)
        assert any(e.startswith(field) for e in error["errors"]), (field, error)
    assert (await h.client.get(url, headers=h.auth)).json()["escalation_policy"] == policy


@pytest.mark.parametrize(("method", "body"), [
    ("GET", None), ("PUT", {"escalation_policy": {"name": "x"}}), ("DELETE", None)])
async def test_unknown_policy_is_404(h: Harness, method: str, body: Any) -> None:
    r = await h.client.request(method, "/escalation_policies/PNOSUCH", headers=h.writer, json=body)
    assert_error(r, 404, 2100)


# --- in use by services ----------------------------------------------------------------------

async def test_deleting_a_policy_used_by_a_service_is_400_naming_it(h: Harness) -> None:
    policy_id = h.seed.escalation_policy_id
    error = assert_error(await h.client.delete(f"/escalation_policies/{policy_id}", headers=h.writer), 400, 2001)
    assert any("Demo Service" in e and str(h.seed.service_id) in e for e in error["errors"]), error
    assert (await h.client.get(f"/escalation_policies/{policy_id}", headers=h.auth)).status_code == 200
    # Once the service moves to another policy, the old one can go.
    other = await make_policy(h, [user_target(await make_user(h, "Ann"))], name="Other")
    r = await h.client.put(f"/services/{h.seed.service_id}", headers=h.auth, json={"service": {
        "escalation_policy": {"id": other["id"], "type": "escalation_policy_reference"}}})
    assert r.status_code == 200, r.text
    assert (await h.client.delete(f"/escalation_policies/{policy_id}", headers=h.writer)).status_code == 204


# --- teams -----------------------------------------------------------------------------------

async def test_team_association_routes(h: Harness) -> None:
    policy = await make_policy(h, [user_target(await make_user(h, "Ann"))])
    team = await make_team(h, "SRE")
    url = f"/teams/{team}/escalation_policies/{policy['id']}"
    assert (await h.client.put(url, headers=h.writer)).status_code == 204
    assert (await h.client.put(url, headers=h.writer)).status_code == 204  # idempotent
    got = (await h.client.get(f"/escalation_policies/{policy['id']}", headers=h.auth)).json()["escalation_policy"]
    assert [t["id"] for t in got["teams"]] == [team]
    listed = (await h.client.get("/escalation_policies", headers=h.auth, params={"team_ids[]": team})).json()
    assert [p["id"] for p in listed["escalation_policies"]] == [policy["id"]]
    assert (await h.client.delete(url, headers=h.writer)).status_code == 204
    assert_error(await h.client.delete(url, headers=h.writer), 404, 2100)
    got = (await h.client.get(f"/escalation_policies/{policy['id']}", headers=h.auth)).json()["escalation_policy"]
    assert got["teams"] == []
    assert sorted(a for a, _ in await audit_actions(h, policy["id"])) == ["create", "update", "update"]
    assert_error(await h.client.put(f"/teams/PNOTEAM/escalation_policies/{policy['id']}", headers=h.writer), 404, 2100)
    assert_error(await h.client.put(f"/teams/{team}/escalation_policies/PNOSUCH", headers=h.writer), 404, 2100)


# --- schedule gaps ---------------------------------------------------------------------------

async def test_a_schedule_gap_in_the_next_two_weeks_is_a_warning(h: Harness) -> None:
    ann = await make_user(h, "Ann")
    # Covered only from Jan 5 on: Jan 1 (now) to Jan 5 nobody is on call.
    late = await make_schedule(h, [ann], name="Late start", start="2030-01-05T00:00:00Z")
    full = await make_schedule(h, [ann], name="Always")
    policy = await make_policy(h, [schedule_target(late), schedule_target(full)])
    [warning] = policy["warnings"]
    assert warning["type"] == "schedule_gap"
    assert warning["schedule"]["id"] == late and warning["schedule"]["summary"] == "Late start"
    assert (warning["start"], warning["end"]) == ("2030-01-01T00:00:00Z", "2030-01-05T00:00:00Z")
    assert "Late start" in warning["message"]
    listed = (await h.client.get("/escalation_policies", headers=h.auth, params={"query": "Ops"})).json()
    assert listed["escalation_policies"][0]["warnings"] == [warning]
    # Daily restrictions leave a gap every night.
    nights = await make_schedule(h, [ann], name="Days only", restrictions=[
        {"type": "daily_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 8 * 3600}])
    day_policy = await make_policy(h, [schedule_target(nights)], name="Days")
    assert len(day_policy["warnings"]) == 15  # 00:00-09:00 today, then 17:00-09:00 each night, then the tail


# --- tocsin init -----------------------------------------------------------------------------

async def test_init_makes_one_default_policy_paging_the_admin_and_the_demo_service_uses_it(h: Harness) -> None:
    from tests.conftest import make_settings
    from tocsin.bootstrap import initialise

    again = await initialise(make_settings(h.db_url))  # idempotent: reuses what exists
    assert again.escalation_policy_id == h.seed.escalation_policy_id
    listed = (await h.client.get("/escalation_policies", headers=h.auth, params={"query": "Default"})).json()
    [policy] = listed["escalation_policies"]
    assert policy["id"] == h.seed.escalation_policy_id
    [rule] = policy["escalation_rules"]
    assert [t["type"] for t in rule["targets"]] == ["user_reference"]
    user = (await h.client.get(f"/users/{rule['targets'][0]['id']}", headers=h.auth)).json()["user"]
    assert user["email"] == h.seed.admin_email
    assert [s["id"] for s in policy["services"]] == [h.seed.service_id]
    service = (await h.client.get(f"/services/{h.seed.service_id}", headers=h.auth)).json()["service"]
    assert service["escalation_policy"]["id"] == policy["id"]
