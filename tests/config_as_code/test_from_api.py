"""API objects -> document entries (pure): references become names, and what a document cannot
hold is said in a note instead of being dropped silently; entries -> request bodies."""

from __future__ import annotations

import pytest

from tocsin.config_as_code import to_api
from tocsin.config_as_code.canonical import normalise
from tocsin.config_as_code.document import DocumentError, strip_private
from tocsin.config_as_code.env_refs import MissingVariable
from tocsin.config_as_code.from_api import document
from tocsin.config_as_code.plan import plan
from tocsin.config_as_code.source import Source
from tocsin.config_as_code.to_api import Ids

USER = {"id": "PU1", "email": "Ada@Example.com", "name": "Ada", "role": "admin", "time_zone": "Europe/London",
        "color": "purple", "job_title": None, "description": None,
        "contact_methods": [
            {"id": "PC1", "type": "sms_contact_method", "label": "Mobile", "address": "555", "country_code": 1},
            {"id": "PC2", "type": "push_notification_contact_method", "label": "iPhone", "address": "tok"}],
        "notification_rules": [
            {"id": "PR1", "urgency": "high", "start_delay_in_minutes": 3,
             "contact_method": {"id": "PC1", "type": "sms_contact_method_reference"}},
            {"id": "PR2", "urgency": "high", "start_delay_in_minutes": 0,
             "contact_method": {"id": "PC2", "type": "push_notification_contact_method_reference"}}]}
POLICY = {"id": "PP1", "name": "Ops", "num_loops": 1, "escalation_rules": [
    {"id": "PE1", "escalation_delay_in_minutes": 7, "escalation_rule_assignment_strategy": {"type": "round_robin"},
     "targets": [{"id": "PU1", "type": "user_reference"}, {"id": "PGONE", "type": "user_reference"}]}]}
SERVICE = {"id": "PS1", "name": "checkout", "status": "critical", "escalation_policy": {"id": "PP1"},
           "auto_resolve_timeout": None, "acknowledgement_timeout": 600,
           "incident_urgency_rule": {"type": "constant", "urgency": "high", "extra": 1},
           "alert_grouping_parameters": {"type": "intelligent"},
           "integrations": [
               {"id": "PI1", "type": "events_api_v2_inbound_integration", "name": "Datadog",
                "integration_key": "a" * 32},
               {"id": "PI2", "type": "aws_cloudwatch_inbound_integration", "name": "CloudWatch"}]}


def test_references_become_names_and_what_cannot_be_carried_is_noted() -> None:
    doc, notes = document(Source(users=[USER], policies=[POLICY], services=[SERVICE]))
    [user] = doc["users"]
    assert user["email"] == "ada@example.com" and user["job_title"] == "" and user["description"] == ""
    assert [(m["type"], m["notification_rules"]) for m in user["contact_methods"]] == [
        ("sms", [{"urgency": "high", "start_delay_in_minutes": 3, "_id": "PR1"}])]
    [policy] = doc["escalation_policies"]
    assert policy["rules"][0]["targets"] == [{"user": "ada@example.com"}]
    assert policy["rules"][0]["assignment_strategy"] == "round_robin"
    [service] = doc["services"]
    assert service["status"] == "active"  # critical is a state of incidents, not configuration
    assert service["escalation_policy"] == "Ops"
    assert service["incident_urgency_rule"] == {"type": "constant", "urgency": "high"}
    assert [i["integration_key"] for i in service["integrations"]] == ["a" * 32]
    said = {(n.kind, n.reason.split(" ")[0]) for n in notes}
    assert ("contact method", "push") in said
    assert ("escalation policy", "level") in said  # the unknown target PGONE
    assert ("integration", "type") in said  # CloudWatch
    assert ("service", "alert") in said  # intelligent alert grouping


def test_a_name_taken_twice_keeps_the_first_and_says_so() -> None:
    twins = [{"id": "PA", "name": "Web", "escalation_rules": POLICY["escalation_rules"]},
             {"id": "PB", "name": "web", "escalation_rules": POLICY["escalation_rules"]}]
    doc, notes = document(Source(users=[USER], policies=twins))
    assert [p["_id"] for p in doc["escalation_policies"]] == ["PA"]
    assert any("same name" in n.reason and "PB" in n.reason for n in notes)


def test_bodies_resolve_names_to_ids_and_keep_a_chosen_key() -> None:
    ids = Ids()
    ids.set("escalation_policies", "Ops", "PP9")
    body = to_api.service_body({"name": "checkout", "escalation_policy": "ops", "description": "x"}, ids,
                               only={"escalation_policy"})
    assert body == {"service": {"type": "service", "escalation_policy": {"id": "PP9",
                                                                         "type": "escalation_policy_reference"}}}
    assert to_api.integration_body({"name": "D", "type": "events_api_v2_inbound_integration",
                                    "integration_key": "k" * 32})["integration"]["integration_key"] == "k" * 32
    with pytest.raises(to_api.Unresolved, match="schedule 'Missing' does not exist on the target"):
        to_api.policy_body({"name": "P", "rules": [{"escalation_delay_in_minutes": 5,
                                                     "targets": [{"schedule": "Missing"}]}]}, ids)


def test_secrets_are_written_as_environment_references_planned_once_and_read_when_created() -> None:
    forwarder = {"id": "PF1", "type": "forwarder", "service": {"id": "PS1"}, "description": "Central PD",
                 "url": "https://events.pagerduty.com/v2/enqueue", "integration_key": "-- redacted --",
                 "events": ["trigger", "resolve"], "urgencies": None, "active": True}
    chat = {"id": "PW1", "type": "chat_webhook", "service": {"id": "PS1"}, "description": "#ops",
            "url": "https://hooks.example/-- redacted --", "events": ["trigger"], "urgencies": ["high"],
            "active": False, "acting_user": {"id": "PU1", "type": "user_reference"}}
    nameless = {**chat, "id": "PW2", "description": ""}
    webhook = {"id": "PH1", "delivery_method": {"url": "https://hooks.example/pd", "custom_headers": [
        {"name": "Authorization", "value": "-- redacted --"}]}, "events": ["incident.triggered"],
        "filter": {"type": "account_reference"}, "description": "Bridge", "active": True}
    doc, notes = document(Source(users=[USER], policies=[POLICY], services=[SERVICE], webhooks=[webhook],
                                 forwarders=[forwarder], chat_webhooks=[chat, nameless]))
    [fwd] = doc["forwarders"]
    assert fwd["integration_key"] == {"env": "TOCSIN_FORWARDER_CHECKOUT_CENTRAL_PD_KEY"}
    assert (fwd["service"], fwd["events"], fwd["urgencies"]) == ("checkout", ["resolve", "trigger"], [])
    [room] = doc["chat_webhooks"]  # the one without a description cannot be named: noted
    assert room["url"] == {"env": "TOCSIN_CHAT_WEBHOOK_CHECKOUT_OPS_URL"} and room["acting_user"] == "ada@example.com"
    assert any(n.kind == "chat webhook" and "no description" in n.reason for n in notes)
    [sub] = doc["webhook_subscriptions"]
    assert sub["custom_headers"] == [{"name": "Authorization",
                                      "value": {"env": "TOCSIN_WEBHOOK_BRIDGE_AUTHORIZATION"}}]
    assert "redacted" not in str(doc)

    # Never compared: another variable name (or another value behind it) plans no change.
    moved = {**fwd, "integration_key": {"env": "ELSEWHERE"}}
    assert plan({"version": 1, "forwarders": [moved]}, doc).changes == ()
    ids = Ids()
    ids.set("users", "ada@example.com", "PU9")
    env = {"TOCSIN_FORWARDER_CHECKOUT_CENTRAL_PD_KEY": "k" * 32, "TOCSIN_CHAT_WEBHOOK_CHECKOUT_OPS_URL": "https://x/T"}
    made = to_api.relay_body("forwarders", fwd, ids, env=env)["forwarder"]
    assert made["integration_key"] == "k" * 32 and made["urgencies"] is None
    assert to_api.relay_body("chat_webhooks", room, ids, env=env)["chat_webhook"]["acting_user_id"] == "PU9"
    assert "url" not in to_api.relay_body("chat_webhooks", room, ids, {"events"})["chat_webhook"]  # an update
    with pytest.raises(MissingVariable, match="TOCSIN_WEBHOOK_BRIDGE_AUTHORIZATION is not set"):
        to_api.webhook_body(sub, ids, env=env)
    with pytest.raises(DocumentError, match="a secret is not written in a document"):
        normalise({"forwarders": [{**strip_private(fwd), "integration_key": "k" * 32}]})
