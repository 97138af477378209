"""``escalation_rule_assignment_strategy`` through the escalation domain: PagerDuty's object
form and its schema's string form accepted, anything else refused, stored, shown, audited."""

from __future__ import annotations

import pytest

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tests.incidents.helpers import admin_id


def body(admin: str, *strategies: object) -> dict[str, object]:
    rules = []
    for strategy in strategies:
        rule: dict[str, object] = {"escalation_delay_in_minutes": 5,
                                   "targets": [{"id": admin, "type": "user_reference"}]}
        if strategy is not None:
            rule["escalation_rule_assignment_strategy"] = strategy
        rules.append(rule)
    return {"escalation_policy": {"name": "Strategies", "escalation_rules": rules}}


async def test_strategies_are_stored_and_shown_per_rule(harness: Harness) -> None:
    h = harness
    admin = await admin_id(h)
    r = await h.client.post("/escalation_policies", headers=h.writer,
                            json=body(admin, {"type": "round_robin"}, "round_robin", None))
    assert r.status_code == 201, r.text
    assert_conforms(r, "POST", "/escalation_policies")
    policy = r.json()["escalation_policy"]
    assert [x["escalation_rule_assignment_strategy"] for x in policy["escalation_rules"]] == [
        "round_robin", "round_robin", "assign_to_everyone"]
    rules = policy["escalation_rules"]
    rules[0]["escalation_rule_assignment_strategy"] = {"type": "assign_to_everyone"}  # a PUT of what GET gave
    r = await h.client.put(f"/escalation_policies/{policy['id']}", headers=h.writer,
                           json={"escalation_policy": {"escalation_rules": rules}})
    assert r.status_code == 200, r.text
    got = await h.client.get(f"/escalation_policies/{policy['id']}", headers=h.auth)
    assert [x["escalation_rule_assignment_strategy"] for x in got.json()["escalation_policy"]["escalation_rules"]] == [
        "assign_to_everyone", "round_robin", "assign_to_everyone"]
    audit = await h.client.get(f"/escalation_policies/{policy['id']}/audit/records", headers=h.auth)
    assert audit.status_code == 200, audit.text
    [update] = [r for r in audit.json()["records"] if r["action"] == "update"]
    assert "round_robin" in str(update) and "assign_to_everyone" in str(update)  # before and after


@pytest.mark.parametrize("strategy", [{"type": "random"}, "first_only", {"kind": "round_robin"}, 3])
async def test_an_unknown_strategy_is_a_400_naming_the_field(harness: Harness, strategy: object) -> None:
    h = harness
    r = await h.client.post("/escalation_policies", headers=h.writer, json=body(await admin_id(h), strategy))
    error = assert_error(r, 400, 2001)
    assert any("escalation_rule_assignment_strategy" in e for e in error["errors"]), error
