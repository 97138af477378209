"""Issue 3's scenario, driven only by the PyPI ``pagerduty`` client against a real server.

An operator's script sets up a team, people with contact methods and notification rules, an
escalation policy and a service; a monitor triggers incidents through the Events API; the script
then pages through them with ``iter_all``, reassigns, snoozes, annotates, merges and bulk-resolves.
Each step checks what the server answered, then what a later read shows.
"""

from __future__ import annotations

from typing import Any

import pagerduty
import pytest

from tests.e2e.conftest import TlsServer
from tests.e2e.helpers import unique, wait_for

pytestmark = pytest.mark.e2e


def _ref(kind: str, ident: str) -> dict[str, str]:
    return {"id": ident, "type": f"{kind}_reference"}


@pytest.fixture(scope="module")
def org(tls_server: TlsServer, rest: pagerduty.RestApiV2Client) -> dict[str, Any]:
    """Team, two users (with an SMS contact method and a notification rule each), a policy, a service."""
    team = rest.rpost("/teams", json={"team": {"type": "team", "name": unique("SRE"), "description": "e2e"}})
    users = []
    for name in ("Ada Oncall", "Grace Backup"):
        email = f"{unique(name.split()[0].lower())}@example.com"
        user = rest.rpost("/users", json={"user": {"type": "user", "name": name, "email": email, "role": "user"}})
        method = rest.rpost(f"/users/{user['id']}/contact_methods", json={"contact_method": {
            "type": "sms_contact_method", "label": "Mobile", "address": "5555550123", "country_code": 1}})
        rule = rest.rpost(f"/users/{user['id']}/notification_rules", json={"notification_rule": {
            "type": "assignment_notification_rule", "start_delay_in_minutes": 0, "urgency": "high",
            "contact_method": _ref("sms_contact_method", method["id"])}})
        assert rule["contact_method"]["id"] == method["id"]
        answer = rest.put(f"/teams/{team['id']}/users/{user['id']}", json={"role": "responder"})
        assert answer.status_code == 204, answer.text
        users.append(user)
    policy = rest.rpost("/escalation_policies", json={"escalation_policy": {
        "type": "escalation_policy", "name": unique("SRE policy"), "num_loops": 1,
        "teams": [_ref("team", team["id"])],
        "escalation_rules": [
            {"escalation_delay_in_minutes": 30, "targets": [_ref("user", users[0]["id"])]},
            {"escalation_delay_in_minutes": 30, "targets": [_ref("user", users[1]["id"])]},
        ]}})
    service = rest.rpost("/services", json={"service": {
        "type": "service", "name": unique("Checkout"), "escalation_policy": _ref("escalation_policy", policy["id"])}})
    integration = rest.rpost(f"/services/{service['id']}/integrations", json={"integration": {
        "type": "events_api_v2_inbound_integration", "name": "monitor"}})
    return {"team": team, "users": users, "policy": policy, "service": service,
            "routing_key": integration["integration_key"]}


@pytest.fixture(scope="module")
def incidents(tls_server: TlsServer, rest: pagerduty.RestApiV2Client, org: dict[str, Any]) -> list[dict[str, Any]]:
    """Seven incidents on the scenario's service, triggered through the Events API v2 client."""
    sender = tls_server.events(org["routing_key"])
    keys = [unique(f"scenario-{n}") for n in range(7)]
    for n, key in enumerate(keys):
        assert sender.trigger(f"Checkout error rate high #{n}", "checkout-1", dedup_key=key) == key
    params = {"service_ids": [org["service"]["id"]], "date_range": "all"}
    found = wait_for(lambda: rest.list_all("incidents", params=params), lambda items: len(items) == 7,
                     "seven incidents on the scenario service")
    by_key = {i["incident_key"]: i for i in found}
    return [by_key[k] for k in keys]


def test_setup_is_visible_through_the_client(rest: pagerduty.RestApiV2Client, org: dict[str, Any]) -> None:
    members = rest.list_all(f"/teams/{org['team']['id']}/members")
    assert {m["user"]["id"] for m in members} == {u["id"] for u in org["users"]}
    assert {m["role"] for m in members} == {"responder"}
    policy = rest.rget(f"/escalation_policies/{org['policy']['id']}")
    assert [r["targets"][0]["id"] for r in policy["escalation_rules"]] == [u["id"] for u in org["users"]]
    assert org["service"]["escalation_policy"]["id"] == org["policy"]["id"]
    found = rest.find("users", org["users"][0]["email"], attribute="email")
    assert found is not None and found["id"] == org["users"][0]["id"]


def test_iter_all_pages_through_the_incidents(
    rest: pagerduty.RestApiV2Client, org: dict[str, Any], incidents: list[dict[str, Any]]
) -> None:
    before = rest.api_call_counts.get("GET /incidents", 0)
    items = list(rest.iter_all("incidents", params={"service_ids": [org["service"]["id"]], "date_range": "all"},
                               page_size=3))
    assert rest.api_call_counts["GET /incidents"] - before == 3  # 3 + 3 + 1
    assert sorted(i["id"] for i in items) == sorted(i["id"] for i in incidents)
    assert {i["escalation_policy"]["id"] for i in items} == {org["policy"]["id"]}


def test_reassign(rest: pagerduty.RestApiV2Client, org: dict[str, Any], incidents: list[dict[str, Any]]) -> None:
    backup = org["users"][1]["id"]
    updated = rest.rput(f"/incidents/{incidents[0]['id']}", json={"incident": {
        "type": "incident_reference", "assignments": [{"assignee": _ref("user", backup)}]}})
    assert [a["assignee"]["id"] for a in updated["assignments"]] == [backup]
    entries = rest.list_all(f"/incidents/{incidents[0]['id']}/log_entries")
    assert any(e["type"] == "assign_log_entry" and "Reassigned" in e["summary"] for e in entries), entries


def test_snooze(rest: pagerduty.RestApiV2Client, incidents: list[dict[str, Any]]) -> None:
    target = incidents[1]["id"]
    rest.rput(f"/incidents/{target}", json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
    answer = rest.post(f"/incidents/{target}/snooze", json={"duration": 3600})
    assert answer.status_code == 201, answer.text
    assert answer.json()["incident"]["status"] == "acknowledged"
    entries = rest.list_all(f"/incidents/{target}/log_entries")
    assert any(e["type"] == "snooze_log_entry" for e in entries), [e["type"] for e in entries]


def test_notes(rest: pagerduty.RestApiV2Client, incidents: list[dict[str, Any]]) -> None:
    target = incidents[2]["id"]
    note = rest.rpost(f"/incidents/{target}/notes", json={"note": {"content": "Rolled back release 42."}})
    assert note["content"] == "Rolled back release 42."
    notes = rest.rget(f"/incidents/{target}/notes")
    assert [n["content"] for n in notes] == ["Rolled back release 42."]
    annotations = list(rest.iter_incident_notes(target))
    assert len(annotations) == 1


def test_merge(rest: pagerduty.RestApiV2Client, incidents: list[dict[str, Any]]) -> None:
    target, source = incidents[3]["id"], incidents[4]["id"]
    merged = rest.rput(f"/incidents/{target}/merge", json={"source_incidents": [_ref("incident", source)]})
    assert merged["id"] == target
    assert rest.rget(f"/incidents/{source}")["status"] == "resolved"
    alerts = rest.list_all(f"/incidents/{target}/alerts")
    assert len(alerts) == 2, alerts


def test_bulk_resolve(rest: pagerduty.RestApiV2Client, org: dict[str, Any], incidents: list[dict[str, Any]]) -> None:
    open_ids = [i["id"] for i in rest.list_all("incidents", params={
        "service_ids": [org["service"]["id"]], "statuses": ["triggered", "acknowledged"]})]
    assert open_ids, "the scenario left no open incident to resolve"
    resolved = rest.rput("/incidents", json={"incidents": [
        {"id": ident, "type": "incident_reference", "status": "resolved"} for ident in open_ids]})
    assert {i["id"] for i in resolved} == set(open_ids)
    assert {i["status"] for i in resolved} == {"resolved"}
    still_open = rest.list_all("incidents", params={
        "service_ids": [org["service"]["id"]], "statuses": ["triggered", "acknowledged"]})
    assert still_open == []


def test_client_recognises_an_account_key(tls_server: TlsServer) -> None:
    """The official client tells account keys from user keys by asking /users/me."""
    assert tls_server.rest().api_key_access == "account"
