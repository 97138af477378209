"""Incidents, alerts and log entries over REST (SPEC-NOTES 2 and 3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.conftest import Harness
from tests.helpers import assert_error
from tocsin.auth.models import User
from tocsin.incidents.models import Incident, LogEntry

ID = re.compile(r"^P[A-Z0-9]{6,13}$")
BASE = "http://tocsin.test"
ARRAYS = ("assignments", "acknowledgements", "teams", "pending_actions", "incidents_responders", "responder_requests")



def assert_incident_shape(incident: dict[str, Any]) -> None:
    assert ID.match(incident["id"]), incident["id"]
    assert incident["type"] == "incident"
    assert isinstance(incident["summary"], str) and incident["summary"]
    assert incident["self"] == f"{BASE}/incidents/{incident['id']}"
    assert incident["html_url"].startswith(BASE + "/")
    assert isinstance(incident["incident_number"], int) and incident["incident_number"] >= 1
    assert incident["status"] in ("triggered", "acknowledged", "resolved")
    assert incident["urgency"] in ("high", "low")
    service = incident["service"]
    assert service["type"] == "service_reference" and ID.match(service["id"])
    assert service["self"].startswith(BASE) and service["html_url"].startswith(BASE)
    for name in ARRAYS:
        assert isinstance(incident[name], list), name
    assert set(incident["alert_counts"]) == {"all", "triggered", "resolved"}
    if incident["status"] == "resolved":
        assert incident["assignments"] == [] and incident["resolved_at"] is not None


async def get(h: Harness, url: str, **params: Any) -> dict[str, Any]:
    r = await h.client.get(url, headers=h.auth, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def put(h: Harness, incident_id: str, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    return await h.client.put(f"/incidents/{incident_id}", headers=h.writer if headers is None else headers,
                              json={"incident": {"type": "incident_reference", **fields}})


async def trigger(h: Harness, key: str, routing_key: str | None = None, **payload: Any) -> dict[str, Any]:
    body = h.event(dedup_key=key, **payload)
    if routing_key is not None:
        body["routing_key"] = routing_key
    assert (await h.send(body)).status_code == 202
    assert await h.process() == 1
    newest = await get(h, "/incidents", date_range="all", sort_by="incident_number:desc", limit=1)
    incident: dict[str, Any] = newest["incidents"][0]
    assert incident["incident_key"] == key
    return incident


async def admin_id(h: Harness) -> str:
    async with h.tocsin.db.transaction() as session:
        return (await session.execute(select(User.id).where(User.email == h.seed.admin_email))).scalar_one()


async def set_created(h: Harness, number: int, at: datetime) -> None:
    async with h.tocsin.db.transaction() as session:
        await session.execute(update(Incident).where(Incident.number == number).values(created_at=at))


# --- the list: a small world of five incidents -------------------------------------------------

@dataclass
class World:
    now: datetime
    seed_service: str
    low_service: str


# number -> (service, status, urgency, days ago). Creation order differs from number order so
# sorting by created_at and by incident_number give different answers.
INCIDENTS = {
    1: ("seed", "triggered", "high", 2),
    2: ("seed", "acknowledged", "high", 4),
    3: ("low", "triggered", "low", 1),
    4: ("seed", "resolved", "high", 3),
    5: ("seed", "triggered", "high", 40),  # outside the default 30-day window
}


@pytest.fixture
async def world(harness: Harness) -> World:
    r = await harness.client.post("/services", headers=harness.auth, json={"service": {
        "name": "Low service", "incident_urgency_rule": {"type": "constant", "urgency": "low"},
        "escalation_policy": {"id": harness.seed.escalation_policy_id, "type": "escalation_policy_reference"}}})
    assert r.status_code == 201, r.text
    low = r.json()["service"]["id"]
    r = await harness.client.post(f"/services/{low}/integrations", headers=harness.auth,
                                  json={"integration": {"type": "events_api_v2_inbound_integration"}})
    low_key = r.json()["integration"]["integration_key"]
    now = datetime.now(UTC)
    for number, (service, status, _, days) in INCIDENTS.items():
        incident = await trigger(harness, f"k{number}", low_key if service == "low" else None)
        assert incident["incident_number"] == number
        if status != "triggered":
            assert (await put(harness, incident["id"], status=status)).status_code == 200
        await set_created(harness, number, now - timedelta(days=days))
    assert harness.seed.service_id is not None
    return World(now, harness.seed.service_id, low)


def numbers(body: dict[str, Any]) -> list[int]:
    return [i["incident_number"] for i in body["incidents"]]


def days_ago(w: World, days: float) -> str:
    return (w.now - timedelta(days=days)).isoformat()


LIST_CASES: list[tuple[str, dict[str, Any], list[int]]] = [
    ("default window, created_at ascending", {}, [2, 4, 1, 3]),
    ("all dates", {"date_range": "all"}, [5, 2, 4, 1, 3]),
    ("triggered", {"statuses[]": "triggered"}, [1, 3]),
    ("triggered or acknowledged", {"statuses[]": ["triggered", "acknowledged"]}, [2, 1, 3]),
    ("resolved", {"statuses[]": "resolved"}, [4]),
    ("triggered, all dates", {"statuses[]": "triggered", "date_range": "all"}, [5, 1, 3]),
    ("low service", {"service_ids[]": "LOW"}, [3]),
    ("seed service", {"service_ids[]": "SEED"}, [2, 4, 1]),
    ("both services", {"service_ids[]": ["SEED", "LOW"]}, [2, 4, 1, 3]),
    ("unknown service", {"service_ids[]": "PNOSUCHSVC"}, []),
    ("low urgency", {"urgencies[]": "low"}, [3]),
    ("high urgency", {"urgencies[]": "high"}, [2, 4, 1]),
    ("incident key", {"incident_key": "k2"}, [2]),
    ("unknown incident key", {"incident_key": "nope"}, []),
    ("old incident key needs all dates", {"incident_key": "k5"}, []),
    ("since", {"since": -3.5}, [4, 1, 3]),
    ("since far back", {"since": -45}, [5, 2, 4, 1, 3]),
    ("since and until", {"since": -3.5, "until": -1.5}, [4, 1]),
    ("until alone", {"until": -2.5}, [5, 2, 4]),
    ("number descending", {"sort_by": "incident_number:desc"}, [4, 3, 2, 1]),
    ("number ascending", {"sort_by": "incident_number"}, [1, 2, 3, 4]),
    ("created ascending", {"sort_by": "created_at:asc"}, [2, 4, 1, 3]),
    ("created descending", {"sort_by": "created_at:desc"}, [3, 1, 4, 2]),
    ("urgency", {"sort_by": "urgency"}, [3, 1, 2, 4]),
    ("urgency descending", {"sort_by": "urgency:desc"}, [1, 2, 4, 3]),
    ("filters combine", {"statuses[]": "triggered", "urgencies[]": "high", "service_ids[]": "SEED"}, [1]),
]


async def test_list_filters_and_sorts(harness: Harness, world: World, subtests: pytest.Subtests) -> None:
    """One world, many questions: each case of LIST_CASES is a subtest."""
    ids = {"SEED": world.seed_service, "LOW": world.low_service}
    for case, params, expected in LIST_CASES:
        with subtests.test(case):
            query: dict[str, Any] = {}
            for name, value in params.items():
                if name in ("since", "until"):
                    value = days_ago(world, -value)
                elif isinstance(value, list):
                    value = [ids.get(v, v) for v in value]
                else:
                    value = ids.get(value, value)
                query[name] = value
            body = await get(harness, "/incidents", total="true", **query)
            assert numbers(body) == expected
            assert body["total"] == len(expected)
            for incident in body["incidents"]:
                assert_incident_shape(incident)


async def test_list_dates_accept_z_and_naive_forms(harness: Harness, world: World) -> None:
    since = (world.now - timedelta(days=3.5)).astimezone(UTC)
    for text in (since.strftime("%Y-%m-%dT%H:%M:%SZ"), since.strftime("%Y-%m-%dT%H:%M:%S")):
        assert numbers(await get(harness, "/incidents", since=text)) == [4, 1, 3], text


async def test_list_pagination(harness: Harness, world: World) -> None:
    first = await get(harness, "/incidents", limit=2, total="true")
    assert (numbers(first), first["limit"], first["offset"], first["more"], first["total"]) == ([2, 4], 2, 0, True, 4)
    second = await get(harness, "/incidents", limit=2, offset=2, total="true")
    assert (numbers(second), second["more"], second["total"]) == ([1, 3], False, 4)
    no_total = await get(harness, "/incidents", limit=2)
    assert no_total["total"] is None and no_total["more"] is True
    assert (await get(harness, "/incidents", limit=1000))["limit"] == 100


async def test_list_renders_times_in_the_asked_time_zone(harness: Harness, world: World) -> None:
    utc = (await get(harness, "/incidents"))["incidents"]
    tokyo = (await get(harness, "/incidents", time_zone="Asia/Tokyo"))["incidents"]
    assert [i["id"] for i in tokyo] == [i["id"] for i in utc]
    for a, b in zip(utc, tokyo, strict=True):
        assert a["created_at"].endswith("Z")
        assert b["created_at"].endswith("+09:00"), b["created_at"]
        assert datetime.fromisoformat(b["created_at"]) == datetime.fromisoformat(a["created_at"].replace("Z", "+00:00"))
    one = await get(harness, f"/incidents/{utc[0]['id']}", time_zone="Asia/Tokyo")
    assert one["incident"]["created_at"].endswith("+09:00")


BAD_LIST_PARAMS = [
    ("unknown status", {"statuses[]": "snoozed"}, "statuses"),
    ("one bad status among good", {"statuses[]": ["triggered", "bogus"]}, "statuses"),
    ("unknown sort field", {"sort_by": "title"}, "sort_by"),
    ("unknown sort direction", {"sort_by": "created_at:sideways"}, "sort_by"),
    ("bad since", {"since": "yesterday"}, "since"),
    ("bad until", {"until": "2024-13-45"}, "until"),
    ("since after until", {"since": "2024-02-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "since"),
    ("unknown time zone", {"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ("path-like time zone", {"time_zone": "../../etc/passwd"}, "time_zone"),
    ("non-integer limit", {"limit": "ten"}, "limit"),
    ("window too far", {"offset": "9999", "limit": "2"}, "offset"),
]


@pytest.mark.parametrize(("params", "word"), [pytest.param(p, w, id=i) for i, p, w in BAD_LIST_PARAMS])
async def test_list_bad_params_are_400(harness: Harness, params: dict[str, Any], word: str) -> None:
    r = await harness.client.get("/incidents", headers=harness.auth, params=params)
    error = assert_error(r, 400, 2001)
    assert word in " ".join(error["errors"]).lower(), error


# --- one incident --------------------------------------------------------------------------

async def test_get_one_has_the_full_shape(harness: Harness) -> None:
    incident = await trigger(harness, "shape/1", summary="Disk full on db-1")
    got = await get(harness, f"/incidents/{incident['id']}")
    one = got["incident"]
    assert_incident_shape(one)
    assert one == incident
    assert (one["status"], one["urgency"], one["incident_key"], one["title"]) == ("triggered", "high", "shape/1",
                                                                                  "Disk full on db-1")
    assert one["summary"] == f"[#{one['incident_number']}] Disk full on db-1"
    assert one["service"]["id"] == harness.seed.service_id
    assert one["alert_counts"] == {"all": 1, "triggered": 1, "resolved": 0}
    assert one["first_trigger_log_entry"]["type"] == "trigger_log_entry_reference"
    assert one.get("resolved_at") is None


@pytest.mark.parametrize("suffix", ["", "/alerts", "/log_entries"])
async def test_unknown_incident_is_404_code_2100(harness: Harness, suffix: str) -> None:
    assert_error(await harness.client.get(f"/incidents/PNOSUCHINC{suffix}", headers=harness.auth), 404, 2100)


async def test_update_unknown_incident_is_404(harness: Harness) -> None:
    assert_error(await put(harness, "PNOSUCHINC", status="resolved"), 404, 2100)


# --- updates -------------------------------------------------------------------------------

@pytest.mark.parametrize(("from_header", "ok"), [
    (None, False),
    ("", False),
    ("nobody@example.invalid", False),
    ("not an email", False),
    ("ADMIN", True),  # the admin's address in upper case
])
async def test_acknowledge_needs_a_from_header_naming_a_user(
    harness: Harness, from_header: str | None, ok: bool
) -> None:
    incident = await trigger(harness, "from/1")
    headers = dict(harness.auth)
    if from_header is not None:
        headers["From"] = harness.seed.admin_email.upper() if from_header == "ADMIN" else from_header
    r = await put(harness, incident["id"], headers, status="acknowledged")
    after = (await get(harness, f"/incidents/{incident['id']}"))["incident"]
    if ok:
        assert r.status_code == 200, r.text
        assert after["status"] == "acknowledged"
    else:
        error = assert_error(r, 400, 2001)
        assert "from" in (error["message"] + " ".join(error["errors"])).lower()
        assert after["status"] == "triggered"


async def test_acknowledge_records_the_user(harness: Harness) -> None:
    incident = await trigger(harness, "ack/1")
    r = await put(harness, incident["id"], status="acknowledged")
    assert r.status_code == 200, r.text
    acked = r.json()["incident"]
    assert_incident_shape(acked)
    user = await admin_id(harness)
    assert acked["status"] == "acknowledged"
    acknowledgers = [(a["acknowledger"]["id"], a["acknowledger"]["type"]) for a in acked["acknowledgements"]]
    assert acknowledgers == [(user, "user_reference")]
    assert (acked["last_status_change_by"]["id"], acked["last_status_change_by"]["type"]) == (user, "user_reference")
    assert (await get(harness, f"/incidents/{incident['id']}"))["incident"]["status"] == "acknowledged"


async def test_resolve_resolves_alerts_and_cannot_repeat(harness: Harness) -> None:
    incident = await trigger(harness, "resolve/1")
    r = await put(harness, incident["id"], status="resolved")
    assert r.status_code == 200, r.text
    resolved = r.json()["incident"]
    assert_incident_shape(resolved)
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    assert resolved["alert_counts"] == {"all": 1, "triggered": 0, "resolved": 1}
    alerts = (await get(harness, f"/incidents/{incident['id']}/alerts"))["alerts"]
    assert [(a["status"], a["resolved_at"] is not None) for a in alerts] == [("resolved", True)]
    again = await put(harness, incident["id"], status="resolved")
    assert_error(again, 400, 1001)
    entries = (await get(harness, f"/incidents/{incident['id']}/log_entries"))["log_entries"]
    assert [e["type"] for e in entries].count("resolve_log_entry") == 1


@pytest.mark.parametrize("status", ["triggered", "acknowledged"])
async def test_reopening_a_resolved_incident(harness: Harness, status: str) -> None:
    incident = await trigger(harness, f"reopen/{status}")
    assert (await put(harness, incident["id"], status="resolved")).status_code == 200
    r = await put(harness, incident["id"], status=status)
    assert r.status_code == 200, r.text
    reopened = r.json()["incident"]
    assert (reopened["status"], reopened.get("resolved_at")) == (status, None)
    assert reopened["is_mergeable"] is True
    assert (await get(harness, f"/incidents/{incident['id']}"))["incident"]["status"] == status


async def test_unacknowledge_returns_to_triggered(harness: Harness) -> None:
    incident = await trigger(harness, "unack/1")
    assert (await put(harness, incident["id"], status="acknowledged")).status_code == 200
    r = await put(harness, incident["id"], status="triggered")
    assert r.status_code == 200, r.text
    assert (r.json()["incident"]["status"], r.json()["incident"]["acknowledgements"]) == ("triggered", [])
    entries = (await get(harness, f"/incidents/{incident['id']}/log_entries"))["log_entries"]
    assert [e["type"] for e in entries] == ["unacknowledge_log_entry", "acknowledge_log_entry", "assign_log_entry",
                                            "trigger_log_entry"]


async def test_urgency_change_is_logged(harness: Harness) -> None:
    incident = await trigger(harness, "urgency/1")
    assert incident["urgency"] == "high"
    r = await put(harness, incident["id"], urgency="low")
    assert r.status_code == 200 and r.json()["incident"]["urgency"] == "low"
    entries = (await get(harness, f"/incidents/{incident['id']}/log_entries"))["log_entries"]
    assert entries[0]["type"] == "urgency_change_log_entry"
    assert entries[0]["agent"]["type"] == "user_reference"
    # Setting the same urgency again changes and logs nothing.
    assert (await put(harness, incident["id"], urgency="low")).status_code == 200
    entries = (await get(harness, f"/incidents/{incident['id']}/log_entries"))["log_entries"]
    assert [e["type"] for e in entries].count("urgency_change_log_entry") == 1
    assert (await get(harness, "/incidents", **{"urgencies[]": "low"}))["incidents"][0]["id"] == incident["id"]


@pytest.mark.parametrize(("body", "field"), [
    ({"incident": {"status": "snoozed"}}, "incident.status"),
    ({"incident": {"status": 1}}, "incident.status"),
    ({"incident": {"urgency": "urgent"}}, "incident.urgency"),
    ({"incident": {"type": "service"}}, "incident.type"),
    ({"status": "resolved"}, "incident"),
])
async def test_invalid_update_is_400_and_changes_nothing(harness: Harness, body: Any, field: str) -> None:
    incident = await trigger(harness, "invalid/1")
    r = await harness.client.put(f"/incidents/{incident['id']}", headers=harness.writer, json=body)
    error = assert_error(r, 400, 2001)
    assert any(e.startswith(field) for e in error["errors"]), error
    assert (await get(harness, f"/incidents/{incident['id']}"))["incident"] == incident


async def test_after_a_rest_resolve_the_same_dedup_key_opens_a_new_incident(harness: Harness) -> None:
    first = await trigger(harness, "again/1")
    assert (await put(harness, first["id"], status="resolved")).status_code == 200
    second = await trigger(harness, "again/1")
    assert second["id"] != first["id"]
    assert second["incident_number"] == first["incident_number"] + 1
    assert second["status"] == "triggered"
    assert (await get(harness, f"/incidents/{first['id']}"))["incident"]["status"] == "resolved"
    listed = await get(harness, "/incidents", incident_key="again/1", total="true")
    assert [(i["id"], i["status"]) for i in listed["incidents"]] == [(first["id"], "resolved"),
                                                                     (second["id"], "triggered")]


# --- alerts and log entries ------------------------------------------------------------------

async def test_alerts_of_an_incident(harness: Harness) -> None:
    details = {"disk": "/var", "free_pct": 3, "nested": {"a": [1, 2]}}
    incident = await trigger(harness, "alerts/1", custom_details=details, severity="warning")
    body = await get(harness, f"/incidents/{incident['id']}/alerts", total="true")
    assert (body["total"], body["more"]) == (1, False)
    [alert] = body["alerts"]
    assert ID.match(alert["id"]) and alert["type"] == "alert"
    assert (alert["alert_key"], alert["status"], alert["severity"]) == ("alerts/1", "triggered", "warning")
    assert alert["body"]["details"] == details
    assert alert["incident"]["id"] == incident["id"] and alert["incident"]["type"] == "incident_reference"
    assert alert["service"]["id"] == harness.seed.service_id
    assert alert["self"].startswith(f"{BASE}/incidents/{incident['id']}/alerts/")


async def test_incident_log_is_newest_first_with_agents(harness: Harness) -> None:
    incident = await trigger(harness, "log/1")
    assert (await put(harness, incident["id"], status="acknowledged")).status_code == 200
    assert (await put(harness, incident["id"], status="resolved")).status_code == 200
    body = await get(harness, f"/incidents/{incident['id']}/log_entries", total="true")
    entries = body["log_entries"]
    assert [e["type"] for e in entries] == ["resolve_log_entry", "acknowledge_log_entry", "assign_log_entry",
                                            "trigger_log_entry"]
    assert body["total"] == 4
    user = await admin_id(harness)
    assert [(e["agent"]["id"], e["agent"]["type"]) for e in entries[:2]] == [(user, "user_reference")] * 2
    # An event acts as its service (an agent type PagerDuty's schema allows): the trigger through
    # the API channel, the assignment that follows it automatically.
    for entry in entries[2:]:
        assert (entry["agent"]["id"], entry["agent"]["type"]) == (harness.seed.service_id, "service_reference")
    assert [e["channel"]["type"] for e in entries[2:]] == ["auto", "api"]
    for e in entries:
        assert ID.match(e["id"]) and e["incident"]["id"] == incident["id"]
        assert e["self"] == f"{BASE}/log_entries/{e['id']}"
        assert e["service"]["type"] == "service_reference"
    stamps = [datetime.fromisoformat(e["created_at"].replace("Z", "+00:00")) for e in entries]
    assert stamps == sorted(stamps, reverse=True)


async def test_global_log_entries_and_one_entry(harness: Harness) -> None:
    a = await trigger(harness, "glog/a")
    b = await trigger(harness, "glog/b")
    assert (await put(harness, a["id"], status="acknowledged")).status_code == 200
    body = await get(harness, "/log_entries", total="true")
    entries = body["log_entries"]
    assert body["total"] == 5
    assert [(e["type"], e["incident"]["id"]) for e in entries] == [
        ("acknowledge_log_entry", a["id"]), ("assign_log_entry", b["id"]), ("trigger_log_entry", b["id"]),
        ("assign_log_entry", a["id"]), ("trigger_log_entry", a["id"])]
    page = await get(harness, "/log_entries", limit=1, offset=1)
    assert [e["id"] for e in page["log_entries"]] == [entries[1]["id"]] and page["more"] is True
    for entry in entries:
        one = await get(harness, f"/log_entries/{entry['id']}")
        assert one["log_entry"] == entry
    assert_error(await harness.client.get("/log_entries/PNOSUCHLOG", headers=harness.auth), 404, 2100)
    tokyo = await get(harness, f"/log_entries/{entries[0]['id']}", time_zone="Asia/Tokyo")
    assert tokyo["log_entry"]["created_at"].endswith("+09:00")


async def test_global_log_entries_default_to_the_last_30_days(harness: Harness) -> None:
    incident = await trigger(harness, "oldlog/1")
    async with harness.tocsin.db.transaction() as session:
        await session.execute(update(LogEntry).where(LogEntry.incident_id == incident["id"])
                              .values(created_at=datetime.now(UTC) - timedelta(days=40)))
    assert (await get(harness, "/log_entries", total="true"))["total"] == 0
    assert (await get(harness, "/log_entries", date_range="all", total="true"))["total"] == 2  # trigger, assign
    # An incident's own log is whole unless a window is asked for.
    assert len((await get(harness, f"/incidents/{incident['id']}/log_entries"))["log_entries"]) == 2
