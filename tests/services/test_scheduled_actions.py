"""A service's ``scheduled_actions`` (raise urgency when support hours start): accepted with an
urgency rule that uses support hours, stored and shown, refused otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error, default_policy

RULE = {"type": "use_support_hours", "during_support_hours": {"type": "constant", "urgency": "high"},
        "outside_support_hours": {"type": "constant", "urgency": "low"}}
HOURS = {"type": "fixed_time_per_day", "time_zone": "America/Lima", "start_time": "09:00:00",
         "end_time": "17:00:00", "days_of_week": [1, 2, 3, 4, 5]}
RAISE = [{"type": "urgency_change", "at": {"type": "named_time", "name": "support_hours_start"}, "to_urgency": "high"}]


async def post(h: Harness, **fields: Any) -> Any:
    return await h.client.post("/services", headers=h.writer, json={"service": {
        "name": "Support", "escalation_policy": default_policy(h), **fields}})


async def test_scheduled_actions_are_stored_and_shown(harness: Harness) -> None:
    h = harness
    r = await post(h, incident_urgency_rule=RULE, support_hours=HOURS, scheduled_actions=RAISE)
    assert r.status_code == 201, r.text
    assert_conforms(r, "POST", "/services")
    service = r.json()["service"]
    assert service["scheduled_actions"] == RAISE
    got = await h.client.get(f"/services/{service['id']}", headers=h.auth)
    assert got.json()["service"]["scheduled_actions"] == RAISE
    r = await h.client.put(f"/services/{service['id']}", headers=h.writer, json={"service": {"scheduled_actions": []}})
    assert r.status_code == 200 and r.json()["service"]["scheduled_actions"] == []
    plain = await post(h)
    assert plain.json()["service"]["scheduled_actions"] == []


async def test_scheduled_actions_need_support_hours_in_the_urgency_rule(harness: Harness) -> None:
    h = harness
    error = assert_error(await post(h, scheduled_actions=RAISE), 400, 2001)
    assert any("use_support_hours" in e for e in error["errors"]), error
    r = await post(h, incident_urgency_rule=RULE, support_hours=HOURS, scheduled_actions=RAISE)
    service_id = r.json()["service"]["id"]
    # Dropping the support-hours rule while the action stays is refused too (nothing half-stored).
    r = await h.client.put(f"/services/{service_id}", headers=h.writer, json={"service": {
        "incident_urgency_rule": {"type": "constant", "urgency": "high"}}})
    assert_error(r, 400, 2001)
    got = await h.client.get(f"/services/{service_id}", headers=h.auth)
    assert got.json()["service"]["incident_urgency_rule"] == RULE


@pytest.mark.parametrize("action", [
    {"type": "urgency_change", "at": {"type": "named_time", "name": "lunch"}, "to_urgency": "high"},
    {"type": "urgency_change", "at": {"type": "named_time", "name": "support_hours_start"}, "to_urgency": "low"},
    {"type": "escalate", "at": {"type": "named_time", "name": "support_hours_start"}, "to_urgency": "high"},
    {"type": "urgency_change", "to_urgency": "high"},
])
async def test_a_malformed_scheduled_action_is_a_400_naming_the_field(harness: Harness, action: Any) -> None:
    error = assert_error(await post(harness, incident_urgency_rule=RULE, support_hours=HOURS,
                                    scheduled_actions=[action]), 400, 2001)
    assert any("scheduled_actions" in e for e in error["errors"]), error
