"""``schedule show`` drawn from a real server's rendering, overrides, ``oncall --at`` and
``route test`` against a seeded policy whose first level is a schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli import seed
from tests.cli.conftest import Server, as_json, invoke, run

pytestmark = pytest.mark.e2e  # a real `tocsin serve` process


@dataclass
class Rota:
    """Alice and Bob take a day each in turn (UTC), from two days ago: Alice today."""

    schedule: dict[str, Any]
    alice: dict[str, Any]
    bob: dict[str, Any]
    policy: dict[str, Any]
    service_id: str
    routing_key: str
    start: datetime  # midnight UTC two days ago: Alice's day

    def day(self, n: int, hour: int = 0) -> datetime:
        return self.start + timedelta(days=n, hours=hour)


def make_rota(server: Server, config: Path) -> Rota:
    alice, bob = seed.user(server, "Alice"), seed.user(server, "Bob")
    seed.sms_rule(server, alice["id"], 5)  # beside the email rule every new user has (high urgency, at once)
    start = seed.midnight(-2)
    schedule = seed.rota(server, seed.unique("Rota"), [alice["id"], bob["id"]], start)
    policy = seed.policy(server, seed.unique("Web"), [
        (10, [{"id": schedule["id"], "type": "schedule_reference"}]),
        (20, [{"id": bob["id"], "type": "user_reference"}]),
    ])
    created = invoke(server, config, "service", "create", "--name", seed.unique("Web"), "--policy", policy["name"],
                     "--urgency", "severity_based", "--integration", "Prometheus")
    assert created.exit_code == 0, created.output
    service_id = created.stdout.split()[2]
    key = created.stdout.rsplit("routing key ", 1)[1].strip()
    return Rota(schedule, alice, bob, policy, service_id, key, start)


@pytest.fixture
def rota(any_server: Server, config: Path) -> Rota:
    return make_rota(any_server, config)


def test_route_test_names_who_would_be_paged_through_which_level_and_channel(
        any_server: Server, config: Path, rota: Rota) -> None:
    server = any_server
    # Two days on: Alice's day. Critical -> high urgency: Alice at once by email, by SMS after 5
    # minutes; level 2 (Bob, directly) after 10 minutes, by his email rule.
    at = rota.day(4, 10).isoformat()
    result = run(server, config, "route", "test", "-k", rota.routing_key, "--severity", "critical", "--at", at,
                 "--json")
    assert result.returncode == 0, result.stderr
    route = as_json(result)
    assert (route["urgency"], route["held"], route["service"]["id"]) == ("high", None, rota.service_id)
    first, second = route["levels"]
    assert [(r["name"], r["via"]) for r in first["responders"]] == [("Alice", rota.schedule["name"])]
    assert [(p["after_minutes"], p["channel"]) for p in first["responders"][0]["pages"]] == [(0, "email"), (5, "sms")]
    assert first["responders"][0]["pages"][1]["address"] == "+1 5555550100"
    assert second["reached_after_minutes"] == 10
    assert [(r["name"], r["via"], [(p["after_minutes"], p["channel"], p["address"]) for p in r["pages"]])
            for r in second["responders"]] == [("Bob", "directly", [(10, "email", rota.bob["email"])])]
    # Bob's day, a warning: low urgency, and nobody has rules for it (assigned, not notified).
    low = as_json(run(server, config, "route", "test", "-k", rota.routing_key, "--severity", "warning", "--at",
                      rota.day(3, 10).isoformat(), "--json"))
    assert low["urgency"] == "low"
    assert [r["name"] for r in low["levels"][0]["responders"]] == ["Bob"]
    assert all(r["pages"] == [] and "no notification rules for low" in r["note"]
               for level in low["levels"] for r in level["responders"])
    # Nothing was sent: no incident on the service.
    human = invoke(server, config, "route", "test", "-k", rota.routing_key, "--at", at, "--tz", "UTC")
    assert human.exit_code == 0 and human.stdout.rstrip().endswith("Nothing was sent.")
    assert f"  Alice ({rota.alice['id']}), on call in {rota.schedule['name']}" in human.stdout
    assert seed.incidents(server, rota.service_id) == []


def test_route_test_sees_an_open_alert_with_the_dedup_key(server: Server, config: Path) -> None:
    rota = make_rota(server, config)
    seed.trigger(server, rota.routing_key, "already-open")
    [incident] = seed.wait_incidents(server, rota.service_id, 1)
    route = as_json(invoke(server, config, "route", "test", "-k", rota.routing_key, "--dedup-key", "already-open",
                           "--json"))
    assert route["held"] and f"#{incident['incident_number']}" in route["held"]


def test_schedule_show_draws_the_days_and_an_override(server: Server, config: Path) -> None:
    rota = make_rota(server, config)
    name = rota.schedule["name"]
    # Alice's day, then Bob's; two days ahead, so the override below is never in the past (a past
    # override cannot be removed: on today's date the test failed every afternoon, UTC).
    since = rota.day(4).date().isoformat()
    args = ("schedule", "show", name, "--since", since, "--days", "2", "--cell", "60", "--tz", "UTC")
    drawn = invoke(server, config, *args)
    assert drawn.exit_code == 0, drawn.output
    rows = [line for line in drawn.stdout.splitlines() if "|" in line]
    assert [row.split("|")[1] for row in rows] == ["A" * 24, "B" * 24]
    assert "  A = Alice" in drawn.stdout and "  B = Bob" in drawn.stdout
    over = invoke(server, config, "schedule", "override", name, "--user", rota.bob["email"], "--start",
                  f"{since}T09:00Z", "--for", "3h")
    assert over.exit_code == 0, over.output
    again = invoke(server, config, *args)
    rows = [line for line in again.stdout.splitlines() if "|" in line]
    assert rows[0].split("|")[1] == "A" * 9 + "b" * 3 + "A" * 12
    assert "09:00 - " in again.stdout and "Bob (override)" in again.stdout
    # The same from a process, in another zone: --since is read in it, and Tokyo's midnight is 15:00
    # UTC the day before, Bob's day, so Bob comes first (A) and Alice's day starts at 09:00 (B).
    tokyo = run(server, config, "schedule", "show", name, "--since", since, "--days", "1", "--cell", "60",
                "--tz", "Asia/Tokyo")
    assert tokyo.returncode == 0, tokyo.stderr
    [row] = [line for line in tokyo.stdout.splitlines() if "|" in line]
    # 18:00-21:00 in Tokyo is Bob's override (09:00-12:00 UTC): his letter in lower case.
    assert row.split("|")[1] == "A" * 9 + "B" * 9 + "a" * 3 + "B" * 3
    assert "  A = Bob" in tokyo.stdout and "Asia/Tokyo" in tokyo.stdout
    overrides = as_json(invoke(server, config, "schedule", "overrides", name, "--since", since, "--until",
                               rota.day(6).isoformat(), "--json"))
    assert [o["user"]["id"] for o in overrides] == [rota.bob["id"]]
    deleted = invoke(server, config, "schedule", "override-delete", name, overrides[0]["id"])
    assert deleted.exit_code == 0, deleted.output


def test_oncall_at_a_time_and_filters(server: Server, config: Path) -> None:
    rota = make_rota(server, config)
    bobs_day = rota.day(3, 12).isoformat()
    found = as_json(invoke(server, config, "oncall", "--schedule", rota.schedule["name"], "--at", bobs_day, "--json"))
    assert [(o["user"]["id"], o["escalation_level"]) for o in found] == [(rota.bob["id"], 1)]
    everyone = as_json(invoke(server, config, "oncall", "--policy", rota.policy["name"], "--at", bobs_day, "--json"))
    assert sorted((o["escalation_level"], o["user"]["id"]) for o in everyone) == [(1, rota.bob["id"]),
                                                                                   (2, rota.bob["id"])]
    table = invoke(server, config, "oncall", "--policy", rota.policy["id"], "--at", rota.day(4, 12).isoformat())
    assert "Alice" in table.stdout and rota.schedule["name"] in table.stdout and "directly" in table.stdout
    ids = invoke(server, config, "oncall", "--policy", rota.policy["id"], "--at", rota.day(4, 12).isoformat(),
                 "--pipe")
    assert ids.stdout.split() == [rota.alice["id"], rota.bob["id"]]
