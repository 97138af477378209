"""Tocsin's extension for importers: an admin may create an integration with a chosen key (a
PagerDuty account's), events sent with that key open incidents, the choice is audited (never the
key), and nobody else may choose one."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.auth.tokens import oauth_token, user_with_key
from tests.conftest import Harness
from tests.helpers import assert_error, default_policy


async def _service(h: Harness, name: str = "Imported") -> str:
    r = await h.client.post("/services", headers=h.auth, json={"service": {
        "name": name, "escalation_policy": default_policy(h)}})
    assert r.status_code == 201, r.text
    return str(r.json()["service"]["id"])


def _body(key: str, **fields: Any) -> dict[str, Any]:
    return {"integration": {"type": "events_api_v2_inbound_integration", "name": "Datadog",
                            "integration_key": key, **fields}}


async def test_an_account_key_keeps_a_chosen_key_and_events_with_it_open_incidents(harness: Harness) -> None:
    service_id = await _service(harness)
    key = secrets.token_hex(16).upper()[:16] + "abcdefghij012345"  # mixed case: PagerDuty's keys are alphanumeric
    r = await harness.client.post(f"/services/{service_id}/integrations", headers=harness.auth, json=_body(key))
    assert r.status_code == 201, r.text
    assert r.json()["integration"]["integration_key"] == key

    sent = await harness.send({"routing_key": key, "event_action": "trigger", "dedup_key": "disk",
                               "payload": {"summary": "disk full", "source": "db-1", "severity": "critical"}})
    assert sent.status_code == 202, sent.text
    await harness.process()
    found = await harness.client.get("/incidents", headers=harness.auth, params={"service_ids[]": service_id})
    assert [i["incident_key"] for i in found.json()["incidents"]] == ["disk"]

    records = (await harness.client.get(f"/services/{service_id}/audit/records", headers=harness.auth)).json()
    text = str(records["records"])
    assert len(records["records"]) == 2  # the service's creation, the integration's
    assert "integration_key_chosen" in text and key not in text  # the choice is recorded, the credential is not


async def test_a_key_is_never_reused_even_after_its_integration_was_deleted(harness: Harness) -> None:
    service_id = await _service(harness)
    key = secrets.token_hex(16)
    url = f"/services/{service_id}/integrations"
    first = await harness.client.post(url, headers=harness.auth, json=_body(key))
    assert first.status_code == 201
    again = await harness.client.post(url, headers=harness.auth, json=_body(key))
    assert "already in use" in str(assert_error(again, 400, 2001))
    deleted = await harness.client.delete(f"{url}/{first.json()['integration']['id']}", headers=harness.auth)
    assert deleted.status_code == 204
    after_delete = await harness.client.post(url, headers=harness.auth, json=_body(key))
    assert after_delete.status_code == 400


@pytest.mark.parametrize("bad", ["short", "x" * 33, "0123456789abcdef0123456789abcde-"])
async def test_a_chosen_key_has_the_shape_the_events_api_accepts(harness: Harness, bad: str) -> None:
    service_id = await _service(harness)
    r = await harness.client.post(f"/services/{service_id}/integrations", headers=harness.auth, json=_body(bad))
    assert_error(r, 400, 2001)
    listed = (await harness.client.get(f"/services/{service_id}", headers=harness.auth)).json()["service"]
    assert listed["integrations"] == []  # nothing written


@pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("owner", True), ("user", False)])
async def test_only_admins_choose_keys(harness: Harness, role: str, allowed: bool) -> None:
    service_id = await _service(harness, f"svc-{role}")
    _, secret = await user_with_key(harness, role)
    headers = {"Authorization": f"Token token={secret}"}
    r = await harness.client.post(f"/services/{service_id}/integrations", headers=headers,
                                  json=_body(secrets.token_hex(16)))
    if allowed:
        assert r.status_code == 201, r.text
    else:
        assert "only an admin" in str(assert_error(r, 403, 2010))
        # The same user may still create an integration with a generated key.
        plain = await harness.client.post(f"/services/{service_id}/integrations", headers=headers,
                                          json={"integration": {"type": "events_api_v2_inbound_integration"}})
        assert plain.status_code == 201, plain.text


async def test_an_oauth_app_gets_generated_keys_only(harness: Harness) -> None:
    service_id = await _service(harness)
    token = await oauth_token(harness, ["services.write", "services.read"])
    headers = {"Authorization": f"Bearer {token}"}
    r = await harness.client.post(f"/services/{service_id}/integrations", headers=headers,
                                  json=_body(secrets.token_hex(16)))
    assert_error(r, 403, 2010)
