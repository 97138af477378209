"""/users/{id}/contact_methods and /users/{id}/notification_rules."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tests.users.people import audit_rows, make_user

PHONE = {"type": "phone_contact_method", "label": "Mobile", "address": "5551234567", "country_code": 1}


async def test_contact_method_crud(harness: Harness) -> None:
    h = harness
    ada = await make_user(h)
    base = f"/users/{ada['id']}/contact_methods"
    resp = await h.client.post(base, headers=h.writer, json={"contact_method": PHONE})
    assert_conforms(resp, "POST", "/users/{id}/contact_methods")
    phone = resp.json()["contact_method"]
    assert (phone["type"], phone["address"], phone["country_code"]) == ("phone_contact_method", "5551234567", 1)
    resp = await h.client.post(base, headers=h.writer, json={"contact_method": {
        "type": "sms_contact_method", "label": "SMS", "address": "5551234567", "country_code": 1}})
    assert resp.status_code == 201  # same number, another type: fine
    resp = await h.client.get(f"{base}/{phone['id']}", headers=h.auth)
    assert_conforms(resp, "GET", "/users/{id}/contact_methods/{contact_method_id}")
    resp = await h.client.put(f"{base}/{phone['id']}", headers=h.writer, json={"contact_method": {"label": "Work"}})
    assert_conforms(resp, "PUT", "/users/{id}/contact_methods/{contact_method_id}")
    assert resp.json()["contact_method"]["label"] == "Work"
    resp = await h.client.get(base, headers=h.auth)
    assert_conforms(resp, "GET", "/users/{id}/contact_methods")
    assert [m["type"] for m in resp.json()["contact_methods"]] == [
        "email_contact_method", "phone_contact_method", "sms_contact_method"]
    resp = await h.client.delete(f"{base}/{phone['id']}", headers=h.writer)
    assert resp.status_code == 204
    assert_error(await h.client.get(f"{base}/{phone['id']}", headers=h.auth), 404, 2100)
    push = await h.client.post(base, headers=h.writer, json={"contact_method": {
        "type": "push_notification_contact_method", "label": "Phone app", "address": "tok-123", "device_type": "ios"}})
    assert_conforms(push, "POST", "/users/{id}/contact_methods")
    actions = [r.action for r in await audit_rows(h, "contact_method")]
    assert actions == ["create", "create", "create", "update", "delete", "create"]


@pytest.mark.parametrize(("fields", "needle"), [
    ({"label": "x", "address": "a@example.com"}, "type"),
    ({"type": "fax_contact_method", "label": "x", "address": "1"}, "type"),
    ({"type": "email_contact_method", "address": "a@example.com"}, "label"),
    ({"type": "email_contact_method", "label": "x"}, "address"),
    ({"type": "email_contact_method", "label": "x", "address": "nope"}, "address"),
    ({"type": "email_contact_method", "label": "x", "address": "a@example.com", "send_short_email": "yes"},
     "send_short_email"),
    ({**PHONE, "country_code": None}, "country_code"),
    ({**PHONE, "country_code": 0}, "country_code"),
    ({**PHONE, "country_code": "1"}, "country_code"),
    ({**PHONE, "address": "555-CALL-NOW"}, "address"),
    ({"type": "sms_contact_method", "label": "x", "address": "5551234567"}, "country_code"),
    ({"type": "push_notification_contact_method", "label": "x", "address": "tok"}, "device_type"),
    ({**PHONE, "label": ""}, "label"),
])
async def test_bad_contact_method_is_400_naming_the_field(harness: Harness, fields: dict[str, Any],
                                                          needle: str) -> None:
    h = harness
    ada = await make_user(h)
    base = f"/users/{ada['id']}/contact_methods"
    error = assert_error(await h.client.post(base, headers=h.writer, json={"contact_method": fields}), 400, 2001)
    assert any(needle in e for e in error["errors"]), error
    assert len((await h.client.get(base, headers=h.auth)).json()["contact_methods"]) == 1


async def test_duplicate_address_and_type_change_are_refused(harness: Harness) -> None:
    h = harness
    ada = await make_user(h)
    base = f"/users/{ada['id']}/contact_methods"
    error = assert_error(await h.client.post(base, headers=h.writer, json={"contact_method": {
        "type": "email_contact_method", "label": "Again", "address": ada["email"].upper()}}), 400, 2001)
    assert any("address" in e for e in error["errors"])
    phone = (await h.client.post(base, headers=h.writer, json={"contact_method": PHONE})).json()["contact_method"]
    assert_error(await h.client.put(f"{base}/{phone['id']}", headers=h.writer,
                                    json={"contact_method": {"type": "sms_contact_method"}}), 400, 2001)
    assert_error(await h.client.put(f"{base}/{phone['id']}", headers=h.writer,
                                    json={"contact_method": {"address": "12ab"}}), 400, 2001)
    still = (await h.client.get(f"{base}/{phone['id']}", headers=h.auth)).json()["contact_method"]
    assert (still["type"], still["address"]) == ("phone_contact_method", "5551234567")


async def test_contact_method_of_another_user_is_404(harness: Harness) -> None:
    h = harness
    ada, grace = await make_user(h, "Ada Lovelace"), await make_user(h, "Grace Hopper")
    method_id = ada["contact_methods"][0]["id"]
    assert_error(await h.client.get(f"/users/{grace['id']}/contact_methods/{method_id}", headers=h.auth), 404, 2100)
    assert_error(await h.client.delete(f"/users/{grace['id']}/contact_methods/{method_id}", headers=h.writer), 404,
                 2100)
    assert_error(await h.client.put(f"/users/{grace['id']}/contact_methods/PNOSUCH1", headers=h.writer,
                                    json={"contact_method": {"label": "x"}}), 404, 2100)


async def test_notification_rule_crud_and_urgency_filter(harness: Harness) -> None:
    h = harness
    ada = await make_user(h)
    base = f"/users/{ada['id']}/notification_rules"
    email_id = ada["contact_methods"][0]["id"]
    resp = await h.client.post(base, headers=h.writer, json={"notification_rule": {
        "type": "assignment_notification_rule", "start_delay_in_minutes": 5, "urgency": "low",
        "contact_method": {"id": email_id, "type": "email_contact_method_reference"}}})
    assert_conforms(resp, "POST", "/users/{id}/notification_rules")
    rule = resp.json()["notification_rule"]
    resp = await h.client.get(f"{base}/{rule['id']}", headers=h.auth)
    assert_conforms(resp, "GET", "/users/{id}/notification_rules/{notification_rule_id}")
    resp = await h.client.put(f"{base}/{rule['id']}", headers=h.writer,
                              json={"notification_rule": {"start_delay_in_minutes": 10}})
    assert_conforms(resp, "PUT", "/users/{id}/notification_rules/{notification_rule_id}")
    assert (resp.json()["notification_rule"]["start_delay_in_minutes"],
            resp.json()["notification_rule"]["urgency"]) == (10, "low")
    resp = await h.client.get(base, headers=h.auth)
    assert_conforms(resp, "GET", "/users/{id}/notification_rules")
    assert [r["urgency"] for r in resp.json()["notification_rules"]] == ["high"]  # PagerDuty's default filter
    every = (await h.client.get(base, headers=h.auth, params={"urgency": "all"})).json()["notification_rules"]
    assert [r["start_delay_in_minutes"] for r in every] == [0, 10]
    low = (await h.client.get(base, headers=h.auth, params={"urgency": "low"})).json()["notification_rules"]
    assert [r["id"] for r in low] == [rule["id"]]
    assert_error(await h.client.get(base, headers=h.auth, params={"urgency": "urgent"}), 400, 2001)
    assert (await h.client.delete(f"{base}/{rule['id']}", headers=h.writer)).status_code == 204
    assert_error(await h.client.get(f"{base}/{rule['id']}", headers=h.auth), 404, 2100)
    assert [r.action for r in await audit_rows(h, "notification_rule", rule["id"])] == ["create", "update", "delete"]


@pytest.mark.parametrize(("fields", "needle"), [
    ({"urgency": "high", "contact_method": {"id": "X"}}, "start_delay_in_minutes"),
    ({"start_delay_in_minutes": -1, "urgency": "high", "contact_method": {"id": "X"}}, "start_delay_in_minutes"),
    ({"start_delay_in_minutes": "5", "urgency": "high", "contact_method": {"id": "X"}}, "start_delay_in_minutes"),
    ({"start_delay_in_minutes": 0, "urgency": "any", "contact_method": {"id": "X"}}, "urgency"),
    ({"start_delay_in_minutes": 0, "urgency": "high"}, "contact_method"),
    ({"start_delay_in_minutes": 0, "urgency": "high", "contact_method": "X"}, "contact_method"),
    ({"start_delay_in_minutes": 0, "urgency": "high", "contact_method": {"id": "PNOSUCH1"}}, "contact_method"),
])
async def test_bad_notification_rule_is_400_naming_the_field(harness: Harness, fields: dict[str, Any],
                                                             needle: str) -> None:
    h = harness
    ada = await make_user(h)
    base = f"/users/{ada['id']}/notification_rules"
    error = assert_error(await h.client.post(base, headers=h.writer, json={"notification_rule": fields}), 400, 2001)
    assert any(needle in e for e in error["errors"]), error
    assert len((await h.client.get(base, headers=h.auth, params={"urgency": "all"})).json()["notification_rules"]) == 1


async def test_rule_must_use_the_users_own_contact_method(harness: Harness) -> None:
    h = harness
    ada, grace = await make_user(h, "Ada Lovelace"), await make_user(h, "Grace Hopper")
    graces_method = grace["contact_methods"][0]["id"]
    error = assert_error(await h.client.post(f"/users/{ada['id']}/notification_rules", headers=h.writer, json={
        "notification_rule": {"start_delay_in_minutes": 0, "urgency": "high",
                              "contact_method": {"id": graces_method}}}),
        400, 2001)
    assert any("contact_method" in e for e in error["errors"])
    ada_rule = ada["notification_rules"][0]["id"]
    assert_error(await h.client.put(f"/users/{ada['id']}/notification_rules/{ada_rule}", headers=h.writer,
                                    json={"notification_rule": {"contact_method": {"id": graces_method}}}), 400, 2001)
    assert_error(await h.client.get(f"/users/{grace['id']}/notification_rules/{ada_rule}", headers=h.auth), 404, 2100)


async def test_deleting_a_contact_method_deletes_its_rules(harness: Harness) -> None:
    h = harness
    ada = await make_user(h)
    method_id = ada["contact_methods"][0]["id"]
    assert (await h.client.delete(f"/users/{ada['id']}/contact_methods/{method_id}",
                                  headers=h.writer)).status_code == 204
    rules = (await h.client.get(f"/users/{ada['id']}/notification_rules", headers=h.auth,
                                params={"urgency": "all"})).json()["notification_rules"]
    assert rules == []
    assert [r.action for r in await audit_rows(h, "notification_rule")] == ["create", "delete"]


async def test_contact_method_changes_are_audited_under_their_user(harness: Harness) -> None:
    h = harness
    user = await make_user(h)
    r = await h.client.post(f"/users/{user['id']}/contact_methods", headers=h.writer, json={"contact_method": {
        "type": "sms_contact_method", "label": "Mobile", "address": "5555550199", "country_code": 1}})
    assert r.status_code == 201, r.text
    method = r.json()["contact_method"]
    trail = (await h.client.get(f"/users/{user['id']}/audit/records", headers=h.auth)).json()["records"]
    mine = [x for x in trail if x["details"]["resource"]["id"] == method["id"]]
    assert len(mine) == 1
    assert mine[0]["root_resource"]["id"] == user["id"]
    assert mine[0]["details"]["resource"]["type"] == "contact_method_reference"
    assert mine[0]["details"]["resource"]["self"].endswith(f"/users/{user['id']}/contact_methods/{method['id']}")
