"""A realistic account, made through the REST API of a server standing in for PagerDuty: 20 users
(contact methods, notification rules of both urgencies), 3 teams (one a sub-team), 5 schedules
(several layers, daily and weekly restrictions, zones, overrides ahead), 5 escalation policies
(odd delays, round robin, loops), 10 services (timeouts, urgency rules, support hours, scheduled
actions, integrations of both Events API versions), 2 maintenance windows and priorities."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.cli.conftest import Server
from tests.cli.seed import ok

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Sydney")


@dataclass
class Account:
    users: dict[str, str] = field(default_factory=dict)  # email -> id
    teams: dict[str, str] = field(default_factory=dict)
    schedules: dict[str, str] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # service name -> an integration key


def _ref(kind: str, id_: str) -> dict[str, str]:
    return {"id": id_, "type": f"{kind}_reference"}


def _users(rest: httpx.Client, account: Account) -> None:
    for n in range(20):
        email = f"person{n:02d}@example.com"
        user = ok(rest.post("/users", json={"user": {
            "name": f"Person {n:02d}", "email": email, "time_zone": ZONES[n % len(ZONES)],
            "role": ("admin", "user", "limited_user", "observer")[n % 4], "job_title": f"Engineer {n}",
            "description": "on call" if n % 3 == 0 else None}}))["user"]
        account.users[email] = user["id"]
        base = f"/users/{user['id']}"
        sms = ok(rest.post(f"{base}/contact_methods", json={"contact_method": {
            "type": "sms_contact_method", "label": "Mobile", "address": f"55555501{n:02d}", "country_code": 1}}))
        sms_ref = _ref("sms_contact_method", sms["contact_method"]["id"])
        ok(rest.post(f"{base}/notification_rules", json={"notification_rule": {
            "type": "assignment_notification_rule", "start_delay_in_minutes": 1 + n % 7, "urgency": "high",
            "contact_method": sms_ref}}))
        ok(rest.post(f"{base}/notification_rules", json={"notification_rule": {
            "type": "assignment_notification_rule", "start_delay_in_minutes": 13, "urgency": "low",
            "contact_method": sms_ref}}))
        if n % 2:
            ok(rest.post(f"{base}/contact_methods", json={"contact_method": {
                "type": "phone_contact_method", "label": "Desk", "address": f"55555502{n:02d}", "country_code": 44}}))


def _teams(rest: httpx.Client, account: Account) -> None:
    platform = ok(rest.post("/teams", json={"team": {"name": "Platform", "description": "infra"}}))["team"]
    payments = ok(rest.post("/teams", json={"team": {"name": "Payments", "default_role": "none",
                                                      "parent": _ref("team", platform["id"])}}))["team"]
    web = ok(rest.post("/teams", json={"team": {"name": "Web"}}))["team"]
    account.teams = {"Platform": platform["id"], "Payments": payments["id"], "Web": web["id"]}
    emails = sorted(account.users)
    for index, email in enumerate(emails):
        team = (platform, payments, web)[index % 3]
        ok(rest.put(f"/teams/{team['id']}/users/{account.users[email]}",
                    json={"role": ("manager", "responder", "observer")[index // 3 % 3]}))


def _schedules(rest: httpx.Client, account: Account, now: datetime) -> None:
    emails = sorted(account.users)
    past = (now - timedelta(days=40)).replace(minute=0, second=0, microsecond=0)
    specs: list[tuple[str, str, list[dict[str, Any]]]] = [
        ("Platform primary", "Europe/Berlin", [
            {"name": "Weekdays", "turn": 7 * 86400, "users": emails[0:4], "restrictions": [
                {"type": "weekly_restriction", "start_day_of_week": d, "start_time_of_day": "09:00:00",
                 "duration_seconds": 9 * 3600} for d in range(1, 6)]},
            {"name": "Nights", "turn": 86400, "users": emails[4:7], "restrictions": [
                {"type": "daily_restriction", "start_time_of_day": "19:30:00", "duration_seconds": 12 * 3600}]},
            {"name": "Weekend", "turn": 2 * 86400, "users": emails[7:9], "restrictions": [
                {"type": "weekly_restriction", "start_day_of_week": 6, "start_time_of_day": "00:00:00",
                 "duration_seconds": 2 * 86400}]}]),
        ("Payments primary", "America/New_York", [
            {"name": "Follow the sun", "turn": 12 * 3600, "users": emails[9:13], "restrictions": []},
            {"name": "Business hours", "turn": 86400, "users": emails[13:15], "restrictions": [
                {"type": "daily_restriction", "start_time_of_day": "08:15:00", "duration_seconds": 8 * 3600 + 1800}]}]),
        ("Web", "Asia/Tokyo", [
            {"name": "Odd turns", "turn": 5 * 3600 + 1234, "users": emails[15:18], "restrictions": []}]),
        ("Database", "UTC", [
            {"name": "Main", "turn": 3 * 86400, "users": emails[0:20:3], "restrictions": [
                {"type": "weekly_restriction", "start_day_of_week": 3, "start_time_of_day": "22:00:00",
                 "duration_seconds": 3 * 86400}]},
            {"name": "Ending", "turn": 86400, "users": emails[18:20], "restrictions": [], "ends": 9}]),
        ("Secondary", "Australia/Sydney", [
            {"name": "Everyone", "turn": 86400, "users": emails, "restrictions": []}]),
    ]
    for index, (name, zone, layers) in enumerate(specs):
        body: dict[str, Any] = {"name": name, "time_zone": zone, "description": f"{name} rota",
                "teams": [_ref("team", account.teams["Platform" if index % 2 == 0 else "Payments"])],
                                "schedule_layers": []}
        for n, layer in enumerate(layers):
            start = past + timedelta(hours=n * 7 + index)
            item: dict[str, Any] = {
                "name": layer["name"], "start": start.isoformat(),
                "rotation_virtual_start": (start - timedelta(hours=3 * n)).isoformat(),
                "rotation_turn_length_seconds": layer["turn"],
                "users": [{"user": _ref("user", account.users[e])} for e in layer["users"]],
                "restrictions": layer["restrictions"]}
            if layer.get("ends"):
                item["end"] = (now + timedelta(days=layer["ends"], hours=5)).replace(microsecond=0).isoformat()
            body["schedule_layers"].append(item)
        schedule = ok(rest.post("/schedules", json={"schedule": body}))["schedule"]
        account.schedules[name] = schedule["id"]
        # Overrides ahead (one ongoing), within and beyond the 14 days the test compares.
        overrides = [{"start": (now + timedelta(days=d, hours=index)).replace(microsecond=0).isoformat(),
                      "end": (now + timedelta(days=d, hours=index + 5)).replace(microsecond=0).isoformat(),
                      "user": _ref("user", account.users[emails[(index * 4 + d) % 20]])} for d in (2, 6, 20)]
        overrides.append({"start": (now - timedelta(hours=2)).replace(microsecond=0).isoformat(),
                          "end": (now + timedelta(hours=3 + index)).replace(microsecond=0).isoformat(),
                          "user": _ref("user", account.users[emails[19 - index]])})
        ok(rest.post(f"/schedules/{schedule['id']}/overrides", json={"overrides": overrides}))


def _policies(rest: httpx.Client, account: Account) -> None:
    s, u = account.schedules, account.users
    emails = sorted(u)
    specs = [
        ("Platform", 2, [(7, [("schedule", s["Platform primary"])], "assign_to_everyone"),
                         (13, [("schedule", s["Database"]), ("user", u[emails[1]])], "assign_to_everyone")]),
        ("Payments", 0, [(1, [("schedule", s["Payments primary"])], "assign_to_everyone"),
                         (22, [("user", u[emails[2]]), ("user", u[emails[3]])], "round_robin"),
                         (45, [("schedule", s["Secondary"])], "assign_to_everyone")]),
        ("Web", 1, [(3, [("schedule", s["Web"]), ("schedule", s["Secondary"])], "assign_to_everyone")]),
        ("Database", 0, [(17, [("schedule", s["Database"])], "assign_to_everyone")]),
        ("Escalate to people", 3, [(11, [("user", u[e]) for e in emails[5:9]], "round_robin")]),
    ]
    for index, (name, loops, rules) in enumerate(specs):
        policy = ok(rest.post("/escalation_policies", json={"escalation_policy": {
            "name": name, "num_loops": loops, "description": f"{name} paging",
            "on_call_handoff_notifications": "always" if index % 2 else "if_has_services",
            "teams": [_ref("team", account.teams["Web" if index == 2 else "Platform"])],
            "escalation_rules": [{"escalation_delay_in_minutes": delay, "escalation_rule_assignment_strategy": how,
                                  "targets": [_ref(k, i) for k, i in targets]} for delay, targets, how in rules],
        }}))["escalation_policy"]
        account.policies[name] = policy["id"]


def _services(rest: httpx.Client, account: Account) -> None:
    names = list(account.policies)
    for n in range(10):
        name = f"service-{n:02d}"
        body: dict[str, Any] = {
            "name": name, "description": f"Service {n}",
            "escalation_policy": _ref("escalation_policy", account.policies[names[n % 5]]),
            "auto_resolve_timeout": None if n % 3 == 0 else 3600 * n,
            "acknowledgement_timeout": 600 + 60 * n,
        }
        if n % 2:
            body["incident_urgency_rule"] = {"type": "use_support_hours",
                                             "during_support_hours": {"type": "constant", "urgency": "high"},
                                             "outside_support_hours": {"type": "constant", "urgency": "low"}}
            body["support_hours"] = {"type": "fixed_time_per_day", "time_zone": "Europe/Berlin",
                                     "days_of_week": [1, 2, 3, 4, 5], "start_time": "09:00:00", "end_time": "17:30:00"}
            body["scheduled_actions"] = [{"type": "urgency_change", "to_urgency": "high",
                                          "at": {"type": "named_time", "name": "support_hours_start"}}]
        elif n % 4 == 0:
            body["incident_urgency_rule"] = {"type": "constant", "urgency": "severity_based"}
        service = ok(rest.post("/services", json={"service": body}))["service"]
        account.services[name] = service["id"]
        v2 = ok(rest.post(f"/services/{service['id']}/integrations", json={"integration": {
            "type": "events_api_v2_inbound_integration", "name": f"Monitoring {n}"}}))["integration"]
        account.keys[name] = v2["integration_key"]
        if n % 3 == 0:
            ok(rest.post(f"/services/{service['id']}/integrations", json={"integration": {
                "type": "generic_events_api_inbound_integration", "name": "Legacy v1"}}))
        if n == 9:
            ok(rest.put(f"/services/{service['id']}", json={"service": {"status": "disabled"}}))


def _extras(rest: httpx.Client, account: Account, now: datetime) -> None:
    for start, hours, services in ((now + timedelta(days=3), 4, ["service-01", "service-02"]),
                                   (now + timedelta(days=30), 1, ["service-05"])):
        ok(rest.post("/maintenance_windows", json={"maintenance_window": {
            "type": "maintenance_window", "description": f"Upgrade {services[0]}",
            "start_time": start.replace(microsecond=0).isoformat(),
            "end_time": (start + timedelta(hours=hours)).replace(microsecond=0).isoformat(),
            "services": [_ref("service", account.services[s]) for s in services]}}))
    have = {p["name"] for p in ok(rest.get("/priorities"))["priorities"]}
    for name in ("SEV-1", "SEV-2", "SEV-3"):
        if name not in have:
            ok(rest.post("/priorities", json={"priority": {"name": name, "description": f"{name} incidents"}}))


def seed(server: Server) -> Account:
    account = Account()
    now = datetime.now(UTC)
    with server.rest() as rest:
        _users(rest, account)
        _teams(rest, account)
        _schedules(rest, account, now)
        _policies(rest, account)
        _services(rest, account)
        _extras(rest, account, now)
    return account
