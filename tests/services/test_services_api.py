"""Services and integrations over REST (SPEC-NOTES 2 and 3): CRUD, pagination, validation,
and what deleting does to routing keys."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error, create_policy, default_policy

ID = re.compile(r"^P[A-Z0-9]{6,13}$")
INTEGRATION_KEY = re.compile(r"^[0-9a-f]{32}$")
BASE = "http://tocsin.test"



async def create(h: Harness, **fields: Any) -> dict[str, Any]:
    r = await h.client.post("/services", headers=h.auth, json={"service": {
        "name": "svc", "escalation_policy": default_policy(h), **fields}})
    assert r.status_code == 201, r.text
    return r.json()["service"]


async def add_integration(h: Harness, service_id: str, **fields: Any) -> dict[str, Any]:
    r = await h.client.post(f"/services/{service_id}/integrations", headers=h.auth,
                            json={"integration": {"type": "events_api_v2_inbound_integration", **fields}})
    assert r.status_code == 201, r.text
    return r.json()["integration"]


async def listing(h: Harness, **params: Any) -> dict[str, Any]:
    r = await h.client.get("/services", headers=h.auth, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def total(h: Harness) -> int:
    return (await listing(h, total="true"))["total"]


async def enqueue(h: Harness, routing_key: str) -> Any:
    return await h.send({"routing_key": routing_key, "event_action": "trigger",
                         "payload": {"summary": "s", "source": "x", "severity": "info"}})


# --- create / get / update / delete ---------------------------------------------------------

async def test_create_applies_defaults_and_get_returns_the_same(harness: Harness) -> None:
    r = await harness.client.post("/services", headers=harness.auth, json={"service": {
        "name": "Checkout", "escalation_policy": default_policy(harness)}})
    assert r.status_code == 201, r.text
    service = r.json()["service"]
    policy = service["escalation_policy"]
    assert policy["id"] == harness.seed.escalation_policy_id and policy["type"] == "escalation_policy_reference"
    assert policy["summary"] == "Default" and policy["self"] == f"{BASE}/escalation_policies/{policy['id']}"
    assert ID.match(service["id"])
    assert service["type"] == "service" and service["name"] == "Checkout" and service["summary"] == "Checkout"
    assert (service["auto_resolve_timeout"], service["acknowledgement_timeout"], service["status"]) == (14400,
                                                                                                        1800, "active")
    assert service["self"] == f"{BASE}/services/{service['id']}"
    assert service["html_url"].startswith(BASE)
    assert service["incident_urgency_rule"]["type"] == "constant"
    for array in ("integrations", "teams", "addons", "scheduled_actions"):
        assert service[array] == []
    got = await harness.client.get(f"/services/{service['id']}", headers=harness.auth)
    assert got.status_code == 200 and got.json()["service"] == service


@pytest.mark.parametrize(("fields", "expected"), [
    ({"auto_resolve_timeout": None, "acknowledgement_timeout": None},
     {"auto_resolve_timeout": None, "acknowledgement_timeout": None}),
    ({"auto_resolve_timeout": 0, "acknowledgement_timeout": 0},
     {"auto_resolve_timeout": 0, "acknowledgement_timeout": 0}),
    ({"status": "maintenance", "description": "d"}, {"status": "maintenance", "description": "d"}),
    ({"incident_urgency_rule": {"type": "constant", "urgency": "low"}},
     {"incident_urgency_rule": {"type": "constant", "urgency": "low"}}),
    ({"incident_urgency_rule": {"type": "severity_based"}}, {"incident_urgency_rule": {"type": "severity_based"}}),
])
async def test_create_accepts_optional_fields(harness: Harness, fields: dict[str, Any],
                                              expected: dict[str, Any]) -> None:
    service = await create(harness, **fields)
    fetched = (await harness.client.get(f"/services/{service['id']}", headers=harness.auth)).json()["service"]
    for name, value in expected.items():
        got = fetched[name]
        if isinstance(value, dict):
            got = {k: got.get(k) for k in value}
        assert got == value, name


async def test_update_changes_only_given_fields(harness: Harness) -> None:
    service = await create(harness, name="Before", description="keep me")
    r = await harness.client.put(f"/services/{service['id']}", headers=harness.auth,
                                 json={"service": {"name": "After", "status": "warning", "auto_resolve_timeout": 60}})
    assert r.status_code == 200, r.text
    updated = r.json()["service"]
    assert (updated["id"], updated["name"], updated["summary"], updated["status"]) == (service["id"], "After",
                                                                                       "After", "warning")
    assert (updated["auto_resolve_timeout"], updated["acknowledgement_timeout"], updated["description"]) == (60,
                                                                                                             1800,
                                                                                                             "keep me")
    assert (await harness.client.get(f"/services/{service['id']}", headers=harness.auth)).json()["service"] == updated


async def test_update_can_disable_timeouts_with_null_or_zero(harness: Harness) -> None:
    url = f"/services/{harness.seed.service_id}"
    r = await harness.client.put(url, headers=harness.auth,
                                 json={"service": {"auto_resolve_timeout": None, "acknowledgement_timeout": 0}})
    assert r.status_code == 200, r.text
    got = (await harness.client.get(url, headers=harness.auth)).json()["service"]
    assert (got["auto_resolve_timeout"], got["acknowledgement_timeout"]) == (None, 0)


@pytest.mark.parametrize("fields", [
    {"support_hours": None},
    {"description": None},
    {"incident_urgency_rule": {"type": "severity_based"}},
])
async def test_events_still_open_incidents_after_an_accepted_update(harness: Harness, fields: dict[str, Any]) -> None:
    """An update the API accepts must leave the service able to take events."""
    r = await harness.client.put(f"/services/{harness.seed.service_id}", headers=harness.auth, json={"service": fields})
    assert r.status_code == 200, r.text
    assert (await harness.send(harness.event(dedup_key="after-update"))).status_code == 202
    await harness.process()
    listed = (await harness.client.get("/incidents", headers=harness.auth)).json()["incidents"]
    assert [i["incident_key"] for i in listed] == ["after-update"]


@pytest.mark.parametrize("field", ["incident_urgency_rule", "escalation_policy"])
async def test_null_for_a_field_a_service_cannot_lack_is_400_and_changes_nothing(harness: Harness, field: str) -> None:
    """A service always has an urgency rule and an escalation policy: null is refused, not stored."""
    url = f"/services/{harness.seed.service_id}"
    before = (await harness.client.get(url, headers=harness.auth)).json()["service"]
    error = assert_error(await harness.client.put(url, headers=harness.auth, json={"service": {field: None}}), 400,
                         2001)
    assert any(f"service.{field}" in e for e in error["errors"]), error
    assert (await harness.client.get(url, headers=harness.auth)).json()["service"] == before


async def test_delete_then_404_and_gone_from_the_list(harness: Harness) -> None:
    service = await create(harness, name="Doomed")
    before = await total(harness)
    r = await harness.client.delete(f"/services/{service['id']}", headers=harness.auth)
    assert r.status_code == 204 and r.content == b""
    assert_error(await harness.client.get(f"/services/{service['id']}", headers=harness.auth), 404, 2100)
    assert_error(await harness.client.delete(f"/services/{service['id']}", headers=harness.auth), 404, 2100)
    assert_error(await harness.client.put(f"/services/{service['id']}", headers=harness.auth,
                                          json={"service": {"name": "zombie"}}), 404, 2100)
    assert await total(harness) == before - 1
    assert service["id"] not in [s["id"] for s in (await listing(harness))["services"]]


async def test_deleting_a_service_stops_its_routing_key_at_once(harness: Harness) -> None:
    # The key is used first, so the events endpoint has it cached when the service goes.
    assert (await enqueue(harness, harness.routing_key)).status_code == 202
    r = await harness.client.delete(f"/services/{harness.seed.service_id}", headers=harness.auth)
    assert r.status_code == 204
    r = await enqueue(harness, harness.routing_key)
    assert r.status_code == 400, r.text
    assert "Invalid routing key" in r.json()["errors"]


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("GET", "", None),
    ("PUT", "", {"service": {"name": "x"}}),
    ("DELETE", "", None),
    ("POST", "/integrations", {"integration": {"type": "events_api_v2_inbound_integration"}}),
    ("GET", "/integrations/PXXXXXX", None),
])
async def test_unknown_service_is_404_code_2100(harness: Harness, method: str, suffix: str, body: Any) -> None:
    r = await harness.client.request(method, f"/services/PNOSUCHSVC{suffix}", headers=harness.auth, json=body)
    assert_error(r, 404, 2100)


# --- list -----------------------------------------------------------------------------------

async def test_list_pagination_and_total(harness: Harness) -> None:
    for name in ("Delta", "alpha", "Charlie", "bravo"):
        await create(harness, name=name)
    everything = await listing(harness, total="true")
    assert everything["total"] == 5 and len(everything["services"]) == 5 and everything["more"] is False
    ids = [s["id"] for s in everything["services"]]
    assert all(ID.match(i) for i in ids) and len(set(ids)) == 5

    first = await listing(harness, limit=2)
    assert (first["limit"], first["offset"], first["more"], first["total"]) == (2, 0, True, None)
    assert len(first["services"]) == 2
    middle = await listing(harness, limit=2, offset=2, total="true")
    assert (middle["offset"], middle["more"], middle["total"]) == (2, True, 5)
    last = await listing(harness, limit=2, offset=4, total="1")
    assert (len(last["services"]), last["more"], last["total"]) == (1, False, 5)
    assert [s["id"] for s in first["services"] + middle["services"] + last["services"]] == ids
    beyond = await listing(harness, offset=50, total="true")
    assert (beyond["services"], beyond["more"], beyond["total"]) == ([], False, 5)

    assert (await listing(harness))["limit"] == 25
    assert (await listing(harness, limit=500))["limit"] == 100
    assert (await listing(harness, total="false"))["total"] is None


@pytest.mark.parametrize(("query", "expected"), [
    ("web", ["Web frontend", "web-api"]),
    ("WEB", ["Web frontend", "web-api"]),
    ("api", ["web-api"]),
    ("nothing-matches", []),
    ("cpu_5", ["cpu_50"]),    # '_' is a character, not a wildcard
    ("100%", ["100% disk"]),  # '%' is a character, not a wildcard
])
async def test_list_query_filters_by_name(harness: Harness, query: str, expected: list[str]) -> None:
    for name in ("Web frontend", "web-api", "Billing", "cpu_50", "cpuX50", "100% disk", "1000 disks"):
        await create(harness, name=name)
    body = await listing(harness, query=query, total="true")
    assert sorted(s["name"] for s in body["services"]) == sorted(expected)
    assert body["total"] == len(expected)


@pytest.mark.parametrize("params", [
    {"limit": "abc"},
    {"offset": "1.5"},
    {"limit": "0"},
    {"offset": "-1"},
    {"offset": "9950", "limit": "100"},
    {"offset": "10000"},
    {"total": "maybe"},
])
async def test_list_bad_paging_is_400(harness: Harness, params: dict[str, str]) -> None:
    r = await harness.client.get("/services", headers=harness.auth, params=params)
    error = assert_error(r, 400, 2001)
    assert any(name in " ".join(error["errors"]).lower() for name in params), error


async def test_list_window_edge_is_allowed(harness: Harness) -> None:
    body = await listing(harness, offset=9900, limit=100)
    assert (body["offset"], body["limit"], body["services"], body["more"]) == (9900, 100, [], False)


# --- validation -----------------------------------------------------------------------------

BAD_CREATES = [
    ("missing wrapper", {"name": "x"}, "service"),
    ("wrapper not an object", {"service": "x"}, "service"),
    ("body not an object", [], "body"),
    ("missing name", {"service": {}}, "service.name"),
    ("null name", {"service": {"name": None}}, "service.name"),
    ("empty name", {"service": {"name": ""}}, "service.name"),
    ("name a number", {"service": {"name": 5}}, "service.name"),
    ("name a list", {"service": {"name": ["a"]}}, "service.name"),
    ("name too long", {"service": {"name": "n" * 256}}, "service.name"),
    ("negative auto resolve", {"service": {"name": "x", "auto_resolve_timeout": -1}}, "service.auto_resolve_timeout"),
    ("auto resolve over a year", {"service": {"name": "x", "auto_resolve_timeout": 366 * 86400}},
     "service.auto_resolve_timeout"),
    ("fractional auto resolve", {"service": {"name": "x", "auto_resolve_timeout": 1.5}},
     "service.auto_resolve_timeout"),
    ("auto resolve a word", {"service": {"name": "x", "auto_resolve_timeout": "soon"}}, "service.auto_resolve_timeout"),
    ("negative ack timeout", {"service": {"name": "x", "acknowledgement_timeout": -5}},
     "service.acknowledgement_timeout"),
    ("ack timeout over a week", {"service": {"name": "x", "acknowledgement_timeout": 8 * 86400}},
     "service.acknowledgement_timeout"),
    ("invalid status", {"service": {"name": "x", "status": "sleeping"}}, "service.status"),
    ("urgency rule type", {"service": {"name": "x", "incident_urgency_rule": {"type": "whenever"}}},
     "service.incident_urgency_rule"),
    ("urgency rule not an object", {"service": {"name": "x", "incident_urgency_rule": "high"}},
     "service.incident_urgency_rule"),
    ("constant rule without urgency", {"service": {"name": "x", "incident_urgency_rule": {"type": "constant"}}},
     "service.incident_urgency_rule"),
    ("support hours rule incomplete",
     {"service": {"name": "x", "incident_urgency_rule": {"type": "use_support_hours"}}},
     "service.incident_urgency_rule"),
]


@pytest.mark.parametrize(("body", "field"), [pytest.param(b, f, id=i) for i, b, f in BAD_CREATES])
async def test_bad_create_is_400_naming_the_field_and_writes_nothing(harness: Harness, body: Any, field: str) -> None:
    before = await total(harness)
    r = await harness.client.post("/services", headers=harness.auth, json=body)
    error = assert_error(r, 400, 2001)
    assert any(e.startswith(field) for e in error["errors"]), error
    assert await total(harness) == before


@pytest.mark.parametrize("raw", [b"{not json", b'{"service": {"name": "x"}', b"\xff\xfe"])
async def test_non_json_body_is_400(harness: Harness, raw: bytes) -> None:
    before = await total(harness)
    r = await harness.client.post("/services",
                                  headers={**harness.auth, "Content-Type": "application/json"}, content=raw)
    error = assert_error(r, 400, 2001)
    assert any("json" in e.lower() for e in error["errors"]), error
    assert await total(harness) == before


BAD_UPDATES = [
    ("missing wrapper", {"name": "x"}, "service"),
    ("null name", {"service": {"name": None}}, "service.name"),
    ("empty name", {"service": {"name": ""}}, "service.name"),
    ("null status", {"service": {"status": None}}, "service.status"),
    ("invalid status", {"service": {"status": "sleeping"}}, "service.status"),
    ("null urgency rule", {"service": {"incident_urgency_rule": None}}, "service.incident_urgency_rule"),
    ("null escalation policy", {"service": {"escalation_policy": None}}, "service.escalation_policy"),
    ("escalation policy a string", {"service": {"escalation_policy": "PXXXXXX"}}, "service.escalation_policy"),
    ("unknown escalation policy",
     {"service": {"escalation_policy": {"id": "PNOSUCH", "type": "escalation_policy_reference"}}},
     "service.escalation_policy.id"),
    ("negative ack timeout", {"service": {"acknowledgement_timeout": -1}}, "service.acknowledgement_timeout"),
]


@pytest.mark.parametrize(("body", "field"), [pytest.param(b, f, id=i) for i, b, f in BAD_UPDATES])
async def test_bad_update_is_400_naming_the_field_and_changes_nothing(harness: Harness, body: Any, field: str) -> None:
    url = f"/services/{harness.seed.service_id}"
    before = (await harness.client.get(url, headers=harness.auth)).json()["service"]
    r = await harness.client.put(url, headers=harness.auth, json=body)
    error = assert_error(r, 400, 2001)
    assert any(e.startswith(field) for e in error["errors"]), error
    assert (await harness.client.get(url, headers=harness.auth)).json()["service"] == before


# --- integrations ---------------------------------------------------------------------------

@pytest.mark.parametrize(("type_", "default_name"), [
    ("events_api_v2_inbound_integration", "Events API V2"),
    ("generic_events_api_inbound_integration", "Events API V1"),
])
async def test_integration_lifecycle(harness: Harness, type_: str, default_name: str) -> None:
    service = await create(harness, name="With integration")
    url = f"/services/{service['id']}/integrations"
    r = await harness.client.post(url, headers=harness.auth, json={"integration": {"type": type_}})
    assert r.status_code == 201, r.text
    integration = r.json()["integration"]
    assert ID.match(integration["id"]) and integration["type"] == type_
    assert INTEGRATION_KEY.match(integration["integration_key"])
    assert integration["name"] == default_name
    assert integration["service"]["id"] == service["id"] and integration["service"]["type"] == "service_reference"
    assert integration["self"].startswith(BASE) and integration["html_url"].startswith(BASE)

    got = await harness.client.get(f"{url}/{integration['id']}", headers=harness.auth)
    assert got.status_code == 200 and got.json()["integration"] == integration
    refs = (await harness.client.get(f"/services/{service['id']}",
                                     headers=harness.auth)).json()["service"]["integrations"]
    assert [(i["id"], i["type"]) for i in refs] == [(integration["id"], f"{type_}_reference")]

    r = await harness.client.put(f"{url}/{integration['id']}", headers=harness.auth,
                                 json={"integration": {"name": "Renamed"}})
    assert r.status_code == 200 and r.json()["integration"]["name"] == "Renamed"
    assert r.json()["integration"]["integration_key"] == integration["integration_key"]
    got = await harness.client.get(f"{url}/{integration['id']}", headers=harness.auth)
    assert got.json()["integration"]["name"] == "Renamed"

    r = await harness.client.delete(f"{url}/{integration['id']}", headers=harness.auth)
    assert r.status_code == 204 and r.content == b""
    assert_error(await harness.client.get(f"{url}/{integration['id']}", headers=harness.auth), 404, 2100)
    assert_error(await harness.client.delete(f"{url}/{integration['id']}", headers=harness.auth), 404, 2100)
    refs = (await harness.client.get(f"/services/{service['id']}",
                                     headers=harness.auth)).json()["service"]["integrations"]
    assert refs == []


async def test_new_integration_key_routes_events_until_deleted(harness: Harness) -> None:
    service = await create(harness, name="Routed")
    integration = await add_integration(harness, service["id"])
    assert (await enqueue(harness, integration["integration_key"])).status_code == 202
    r = await harness.client.delete(f"/services/{service['id']}/integrations/{integration['id']}", headers=harness.auth)
    assert r.status_code == 204
    r = await enqueue(harness, integration["integration_key"])
    assert r.status_code == 400 and "Invalid routing key" in r.json()["errors"]
    # Other keys still work.
    assert (await enqueue(harness, harness.routing_key)).status_code == 202


@pytest.mark.parametrize(("method", "body"), [
    ("GET", None),
    ("PUT", {"integration": {"name": "hijacked"}}),
    ("DELETE", None),
])
async def test_integration_of_another_service_is_404(harness: Harness, method: str, body: Any) -> None:
    owner = await create(harness, name="Owner")
    integration = await add_integration(harness, owner["id"], name="Mine")
    r = await harness.client.request(
        method, f"/services/{harness.seed.service_id}/integrations/{integration['id']}", headers=harness.auth, json=body
    )
    assert_error(r, 404, 2100)
    # Untouched under its real service.
    got = await harness.client.get(f"/services/{owner['id']}/integrations/{integration['id']}", headers=harness.auth)
    assert got.status_code == 200 and got.json()["integration"]["name"] == "Mine"


@pytest.mark.parametrize(("body", "field"), [
    ({"type": "events_api_v2_inbound_integration"}, "integration"),
    ({"integration": {"type": "carrier_pigeon_integration"}}, "integration.type"),
    ({"integration": {"name": ""}}, "integration.name"),
    ({"integration": {"name": 7}}, "integration.name"),
])
async def test_bad_integration_create_is_400(harness: Harness, body: Any, field: str) -> None:
    url = f"/services/{harness.seed.service_id}"
    r = await harness.client.post(f"{url}/integrations", headers=harness.auth, json=body)
    error = assert_error(r, 400, 2001)
    assert any(e.startswith(field) for e in error["errors"]), error
    refs = (await harness.client.get(url, headers=harness.auth)).json()["service"]["integrations"]
    assert len(refs) == 1


# --- escalation policy (issue 3) -------------------------------------------------------------

@pytest.mark.parametrize(("policy", "field"), [
    pytest.param(None, "service.escalation_policy", id="missing"),
    pytest.param({"id": "PNOSUCH", "type": "escalation_policy_reference"},
                 "service.escalation_policy.id", id="unknown"),
    pytest.param({"type": "escalation_policy_reference"}, "service.escalation_policy.id", id="without id"),
    pytest.param(7, "service.escalation_policy", id="a number"),
])
async def test_create_requires_a_known_escalation_policy(harness: Harness, policy: Any, field: str) -> None:
    before = await total(harness)
    body: dict[str, Any] = {"name": "No policy"}
    if policy is not None:
        body["escalation_policy"] = policy
    error = assert_error(await harness.client.post("/services", headers=harness.auth, json={"service": body}), 400,
                         2001)
    assert any(e.startswith(field) for e in error["errors"]), error
    assert await total(harness) == before


async def test_a_deleted_policy_cannot_be_given_to_a_service(harness: Harness) -> None:
    policy = await create_policy(harness, name="Short-lived")
    assert (await harness.client.delete(f"/escalation_policies/{policy['id']}",
                                        headers=harness.writer)).status_code == 204
    r = await harness.client.post("/services", headers=harness.auth, json={"service": {
        "name": "late", "escalation_policy": {"id": policy["id"], "type": "escalation_policy_reference"}}})
    error = assert_error(r, 400, 2001)
    assert any(policy["id"] in e for e in error["errors"]), error


async def test_update_moves_the_service_to_another_policy_and_shows_its_name(harness: Harness) -> None:
    service = await create(harness, name="Mover")
    other = await create_policy(harness, name="Night shift")
    r = await harness.client.put(f"/services/{service['id']}", headers=harness.auth, json={"service": {
        "escalation_policy": {"id": other["id"], "type": "escalation_policy_reference"}}})
    assert r.status_code == 200, r.text
    assert r.json()["service"]["escalation_policy"]["summary"] == "Night shift"
    got = (await harness.client.get(f"/escalation_policies/{other['id']}", headers=harness.auth)).json()
    assert [s["id"] for s in got["escalation_policy"]["services"]] == [service["id"]]


async def test_include_escalation_policies_expands_the_reference(harness: Harness) -> None:
    sid = harness.seed.service_id
    plain = (await harness.client.get(f"/services/{sid}", headers=harness.auth)).json()["service"]
    assert plain["escalation_policy"]["type"] == "escalation_policy_reference"
    r = await harness.client.get(f"/services/{sid}", headers=harness.auth, params={"include[]": "escalation_policies"})
    assert r.status_code == 200, r.text
    expanded = r.json()["service"]["escalation_policy"]
    assert expanded["type"] == "escalation_policy" and expanded["name"] == "Default"
    listed = (await listing(harness, **{"include[]": "escalation_policies"}))["services"]
    assert listed[0]["escalation_policy"]["name"] == "Default"
    assert_error(await harness.client.get(f"/services/{sid}", headers=harness.auth, params={"include[]": "bogus"}), 400,
                 2001)


async def test_contract_of_service_routes(harness: Harness) -> None:
    service = await create(harness, name="Contract")
    r = await harness.client.post("/services", headers=harness.auth, json={"service": {
        "name": "Contract 2", "escalation_policy": default_policy(harness)}})
    assert_conforms(r, "POST", "/services")
    assert_conforms(await harness.client.get(f"/services/{service['id']}", headers=harness.auth), "GET",
                    "/services/{id}")
    assert_conforms(await harness.client.get("/services", headers=harness.auth), "GET", "/services")
    r = await harness.client.put(f"/services/{service['id']}", headers=harness.auth, json={"service": {"name": "C3"}})
    assert_conforms(r, "PUT", "/services/{id}")


async def test_service_and_integration_changes_are_audited_under_the_service(harness: Harness) -> None:
    h = harness
    created = (await h.client.post("/services", headers=h.writer, json={"service": {
        "name": "Audited", "escalation_policy": default_policy(h)}})).json()["service"]
    sid = created["id"]
    await h.client.put(f"/services/{sid}", headers=h.writer, json={"service": {"name": "Audited 2"}})
    await h.client.put(f"/services/{sid}", headers=h.writer, json={"service": {"name": "Audited 2"}})  # no change
    integ = (await h.client.post(f"/services/{sid}/integrations", headers=h.writer, json={"integration": {
        "type": "events_api_v2_inbound_integration", "name": "mon"}})).json()["integration"]
    assert (await h.client.delete(f"/services/{sid}/integrations/{integ['id']}", headers=h.writer)).status_code == 204
    assert (await h.client.delete(f"/services/{sid}", headers=h.writer)).status_code == 204

    r = await h.client.get(f"/services/{sid}/audit/records", headers=h.auth)
    assert r.status_code == 200, r.text
    records = list(reversed(r.json()["records"]))  # oldest first
    assert [(x["action"], x["details"]["resource"]["type"]) for x in records] == [
        ("create", "service_reference"), ("update", "service_reference"),
        ("create", "integration_reference"), ("delete", "integration_reference"),
        ("delete", "service_reference"),
    ]
    assert {x["root_resource"]["id"] for x in records} == {sid}
    renamed = {f["name"]: f for f in records[1]["details"]["fields"]}
    assert renamed == {"name": {"name": "name", "before_value": "Audited", "value": "Audited 2"}}
    # The routing key is a credential: never in the trail.
    assert integ["integration_key"] not in r.text
