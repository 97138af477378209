"""Who an event would page, worked out from the API's shapes (pure, no server)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tocsin.cli.routing import describe, find_integration, on_call_at, plan, urgency, window_minutes

AT = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)  # a Monday
KEY = "a" * 32


def ref(kind: str, id_: str, summary: str = "") -> dict[str, str]:
    return {"id": id_, "type": f"{kind}_reference", "summary": summary or id_}


SERVICE: dict[str, Any] = {
    "id": "PSERVIC", "name": "Web", "status": "active",
    "incident_urgency_rule": {"type": "constant", "urgency": "severity_based"},
    "escalation_policy": ref("escalation_policy", "PPOLICY"),
    "integrations": [{"id": "PINTEG1", "name": "Prometheus", "type": "events_api_v2_inbound_integration",
                      "integration_key": KEY}],
}
POLICY: dict[str, Any] = {
    "id": "PPOLICY", "name": "Web on call", "num_loops": 1,
    "escalation_rules": [
        {"escalation_delay_in_minutes": 15, "targets": [ref("schedule", "PSCHED1", "Primary")]},
        {"escalation_delay_in_minutes": 30, "targets": [ref("user", "PBOB001", "Bob")],
         "escalation_rule_assignment_strategy": "round_robin"},
    ],
}


def oncall(level: int, user: str, name: str, start: str | None, end: str | None,
           schedule: str | None = None) -> dict[str, Any]:
    return {"escalation_level": level, "user": ref("user", user, name), "start": start, "end": end,
            "schedule": ref("schedule", schedule, "Primary") if schedule else None,
            "escalation_policy": ref("escalation_policy", "PPOLICY")}


# Alice holds Primary until 10:10, then Carol; Bob is level 2 directly.
ONCALLS = [
    oncall(1, "PALICE1", "Alice", "2024-03-04T00:00:00Z", "2024-03-04T10:10:00Z", "PSCHED1"),
    oncall(1, "PCAROL1", "Carol", "2024-03-04T10:10:00Z", "2024-03-05T00:00:00Z", "PSCHED1"),
    oncall(2, "PBOB001", "Bob", None, None),
]


def user(id_: str, name: str, rules: list[tuple[int, str, str]], methods: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": id_, "name": name, "contact_methods": methods,
            "notification_rules": [{"start_delay_in_minutes": delay, "urgency": urgency_,
                                    "contact_method": {"id": method, "type": "email_contact_method_reference"}}
                                   for delay, urgency_, method in rules]}


USERS = {
    "PALICE1": user("PALICE1", "Alice", [(0, "high", "CA1"), (5, "high", "CA2"), (0, "low", "CA1")], [
        {"id": "CA1", "type": "email_contact_method", "address": "alice@example.com"},
        {"id": "CA2", "type": "sms_contact_method", "address": "5555550100", "country_code": 1}]),
    "PBOB001": user("PBOB001", "Bob", [(1, "high", "CB1")], [
        {"id": "CB1", "type": "phone_contact_method", "address": "5555550199", "country_code": 44}]),
    "PCAROL1": user("PCAROL1", "Carol", [], []),
}


def test_the_routing_key_finds_its_service_and_integration() -> None:
    other = {"id": "POTHER1", "integrations": [{"id": "PX", "integration_key": "b" * 32}, "junk"]}
    assert find_integration([other, SERVICE], KEY) == (SERVICE, SERVICE["integrations"][0])
    assert find_integration([other], KEY) is None


def test_a_critical_event_pages_level_one_now_and_level_two_after_its_delay() -> None:
    route = plan(AT, "critical", SERVICE, SERVICE["integrations"][0], POLICY, ONCALLS, USERS)
    assert (route.urgency, route.held) == ("high", None)
    assert route.urgency_reason == "the service's rule: by severity (critical)"
    first, second = route.levels
    assert (first.number, first.reached_after_minutes, first.escalation_delay_in_minutes) == (1, 0, 15)
    [alice] = first.responders
    assert (alice.name, alice.via, alice.note) == ("Alice", "Primary", None)
    assert [(p.after_minutes, p.channel, p.address) for p in alice.pages] == [
        (0, "email", "alice@example.com"), (5, "sms", "+1 5555550100")]
    # Level 2 is reached 15 minutes in; Bob's rule waits one more minute and calls.
    assert (second.reached_after_minutes, second.assignment) == (15, "round_robin")
    assert [(r.name, r.via, [(p.after_minutes, p.channel, p.address) for p in r.pages])
            for r in second.responders] == [("Bob", "directly", [(16, "phone", "+44 5555550199")])]
    assert route.users_paged == ["PALICE1", "PBOB001"]
    assert route.num_loops == 1


def test_low_urgency_uses_the_low_rules_and_says_who_has_none() -> None:
    route = plan(AT, "warning", SERVICE, SERVICE["integrations"][0], POLICY, ONCALLS, USERS)
    assert route.urgency == "low"
    [alice] = route.levels[0].responders
    assert [(p.after_minutes, p.channel) for p in alice.pages] == [(0, "email")]
    [bob] = route.levels[1].responders
    assert bob.pages == () and bob.note == "has no notification rules for low urgency: assigned, not notified"


def test_who_is_on_call_is_read_when_the_level_is_reached() -> None:
    # At 10:05 Alice holds level 1; a policy whose level 1 has nobody would reach level 2 at once.
    later = datetime(2024, 3, 4, 10, 20, tzinfo=UTC)
    route = plan(later, "critical", SERVICE, SERVICE["integrations"][0], POLICY, ONCALLS, USERS)
    [carol] = route.levels[0].responders
    assert carol.name == "Carol" and carol.note and "no notification rules" in carol.note
    assert [o["user"]["id"] for o in on_call_at(ONCALLS, 1, AT)] == ["PALICE1"]


def test_a_level_nobody_holds_escalates_at_once() -> None:
    gap = [o for o in ONCALLS if o["escalation_level"] == 2]
    route = plan(AT, "critical", SERVICE, SERVICE["integrations"][0], POLICY, gap, USERS)
    first, second = route.levels
    assert first.responders == () and second.reached_after_minutes == 0
    assert [p.after_minutes for p in second.responders[0].pages] == [1]
    lines = describe(route, lambda t: t.strftime("%H:%M"))
    assert "Level 1, reached at +0 min (nobody on call: escalates at once)" in lines
    assert ("Level 2, reached at +0 min (escalates after 30 min unless acknowledged; round robin: one of them, "
            "in turn)") in lines
    assert lines[-1] == "Nothing was sent."


def test_a_user_both_direct_and_scheduled_on_one_level_is_paged_once() -> None:
    both = [*ONCALLS, oncall(1, "PALICE1", "Alice", None, None)]
    [alice] = plan(AT, "critical", SERVICE, SERVICE["integrations"][0], POLICY, both, USERS).levels[0].responders
    assert alice.via == "directly"


def test_support_hours_decide_the_urgency() -> None:
    service = {**SERVICE, "incident_urgency_rule": {
        "type": "use_support_hours", "during_support_hours": {"type": "constant", "urgency": "high"},
        "outside_support_hours": {"type": "constant", "urgency": "low"}},
        "support_hours": {"type": "fixed_time_per_day", "time_zone": "Europe/Berlin", "days_of_week": [1, 2, 3, 4, 5],
                          "start_time": "09:00:00", "end_time": "17:00:00"}}
    assert urgency(service, "info", AT) == ("high", "inside the service's support hours: always high")
    evening = datetime(2024, 3, 4, 18, 0, tzinfo=UTC)  # 19:00 in Berlin
    assert urgency(service, "critical", evening) == ("low", "outside the service's support hours: always low")


def test_what_holds_a_trigger_back() -> None:
    integration = SERVICE["integrations"][0]
    disabled = plan(AT, "critical", {**SERVICE, "status": "disabled"}, integration, POLICY, ONCALLS, USERS)
    assert disabled.held and "disabled" in disabled.held
    window = {"id": "PMAINT1", "start_time": "2024-03-04T09:00:00Z", "end_time": "2024-03-04T11:00:00Z",
              "description": "db upgrade", "services": [ref("service", "PSERVIC")]}
    held = plan(AT, "critical", SERVICE, integration, POLICY, ONCALLS, USERS, windows=[window])
    assert held.held and "maintenance" in held.held and "db upgrade" in held.held
    after = plan(datetime(2024, 3, 4, 11, 0, tzinfo=UTC), "critical", SERVICE, integration, POLICY, ONCALLS, USERS,
                 windows=[window])
    assert after.held is None  # the window's end is exclusive
    dedup = plan(AT, "critical", SERVICE, integration, POLICY, ONCALLS, USERS,
                 open_incident={"id": "PINC001", "incident_number": 7})
    assert dedup.held and "#7" in dedup.held
    assert "Nobody would be paged: " + dedup.held + "." in describe(dedup, str)
    none = plan(AT, "critical", {**SERVICE, "escalation_policy": None}, integration, None, [], {})
    assert none.held == "the service has no escalation policy" and none.levels == ()


def test_the_oncalls_window_covers_the_first_pass() -> None:
    assert window_minutes(POLICY) == 45 and window_minutes(None) == 0


def test_the_route_is_json_ready() -> None:
    body = plan(AT, "critical", SERVICE, SERVICE["integrations"][0], POLICY, ONCALLS, USERS).json()
    assert body["at"] == "2024-03-04T10:00:00+00:00"
    assert body["levels"][0]["responders"][0]["pages"][1] == {"after_minutes": 5, "channel": "sms",
                                                              "address": "+1 5555550100"}
