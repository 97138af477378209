"""Deeply nested free-form JSON: refused at the door with a 400 (never a 503 the client retries
for ever), and whatever an older version stored is read without breaking anyone's answers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from tests.conftest import Harness
from tocsin.events.ingest import inbox_row
from tocsin.events.models import ChangeEvent, InboxEvent
from tocsin.events.validation import MAX_BODY_DEPTH, validate_alert_event
from tocsin.incidents.models import Alert, LogEntry
from tocsin.jsondepth import (
    MAX_NESTING_DEPTH,
    MAX_STORED_DEPTH,
    TOO_DEEP_MARKER,
    bounded,
    nests_deeper_than,
)

V1_PATH = "/generic/2010-04-15/create_event.json"


def nested(levels: int) -> Any:
    """``levels`` arrays, one inside the other, around a string."""
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, list):
        value, depth = value[0], depth + 1
    return depth


def _alert(harness: Harness, details: Any) -> tuple[str, dict[str, Any]]:
    return "/v2/enqueue", harness.event(dedup_key="deep", custom_details=details)


def _change(harness: Harness, details: Any) -> tuple[str, dict[str, Any]]:
    return "/v2/change/enqueue", {"routing_key": harness.routing_key,
                                  "payload": {"summary": "deploy", "custom_details": details}}


def _v1(harness: Harness, details: Any) -> tuple[str, dict[str, Any]]:
    return V1_PATH, {"service_key": harness.routing_key, "event_type": "trigger", "incident_key": "deep",
                     "description": "deep", "details": details}


SENDERS = {"alert": (_alert, "'payload.custom_details'"), "change": (_change, "'payload.custom_details'"),
           "v1": (_v1, "Details")}


# --- the pure rule ----------------------------------------------------------------------------

def test_depth_counts_containers() -> None:
    assert not nests_deeper_than("text", 0)
    assert nests_deeper_than([], 0) and not nests_deeper_than([], 1)
    assert not nests_deeper_than({"a": [1, {"b": 2}]}, 3) and nests_deeper_than({"a": [1, {"b": {}}]}, 3)
    assert not nests_deeper_than(nested(100), 100) and nests_deeper_than(nested(101), 100)


def test_bounded_cuts_only_what_is_too_deep() -> None:
    value = {"shallow": [1, 2], "deep": nested(10)}
    assert bounded(value, 11) == value
    cut = bounded(value, 4, "X")
    assert cut["shallow"] == [1, 2]
    assert cut["deep"] == [[["X"]]]  # the dict is level 1, so three more lists fit


def test_validation_reports_the_limit() -> None:
    body = {"routing_key": "R" * 32, "event_action": "trigger",
            "payload": {"summary": "s", "source": "h", "severity": "info", "custom_details": nested(101)}}
    event, errors = validate_alert_event(body)
    assert event is None
    assert errors == [f"'payload.custom_details' is nested too deeply (at most {MAX_NESTING_DEPTH} levels)"]


# --- at the door --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(SENDERS))
@pytest.mark.parametrize("levels", [MAX_NESTING_DEPTH + 1, 251, 253, 300])
async def test_too_deep_is_a_400_at_the_door(harness: Harness, kind: str, levels: int) -> None:
    build, name = SENDERS[kind]
    path, body = build(harness, nested(levels))
    answer = await harness.client.post(path, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"status": "invalid event", "message": "Event object is invalid",
                             "errors": [f"{name} is nested too deeply (at most {MAX_NESTING_DEPTH} levels)"]}
    assert await harness.process() == 0  # nothing was stored


async def test_at_the_limit_is_accepted_and_every_reader_answers(harness: Harness) -> None:
    deepest = nested(MAX_NESTING_DEPTH)
    for build, _ in SENDERS.values():
        path, body = build(harness, deepest)
        answer = await harness.client.post(path, json=body)
        assert answer.status_code == (200 if path == V1_PATH else 202), answer.text
    await harness.process()
    answers = await _read_everything(harness)
    alert = answers["alerts"]["alerts"][0]
    assert depth_of(alert["body"]["details"]) == MAX_NESTING_DEPTH
    assert depth_of(answers["change_events"]["change_events"][0]["custom_details"]) == MAX_NESTING_DEPTH


async def _read_everything(harness: Harness) -> dict[str, Any]:
    """Every route that shows a stored event's details; each must answer 200."""
    incident = (await harness.client.get("/incidents", headers=harness.auth)).json()["incidents"][0]["id"]
    urls = {
        "alerts": f"/incidents/{incident}/alerts",
        "incident": f"/incidents/{incident}?include[]=first_trigger_log_entries",
        "incidents": "/incidents?include[]=first_trigger_log_entries",
        "log_entries": "/log_entries",
        "incident_log": f"/incidents/{incident}/log_entries",
        "change_events": "/change_events",
    }
    answers: dict[str, Any] = {}
    for name, url in urls.items():
        answer = await harness.client.get(url, headers=harness.auth)
        assert answer.status_code == 200, (url, answer.text[:300])
        answers[name] = answer.json()
    alert_id = answers["alerts"]["alerts"][0]["id"]
    one = await harness.client.get(f"/incidents/{incident}/alerts/{alert_id}", headers=harness.auth)
    assert one.status_code == 200, one.text[:300]
    answers["alert"] = one.json()
    change_id = answers["change_events"]["change_events"][0]["id"]
    one = await harness.client.get(f"/change_events/{change_id}", headers=harness.auth)
    assert one.status_code == 200, one.text[:300]
    return answers


# --- what an older version stored ---------------------------------------------------------------

def _contains_marker(value: Any) -> bool:
    return value == TOO_DEEP_MARKER or (isinstance(value, list) and any(_contains_marker(v) for v in value))


async def test_over_deep_values_already_stored_are_shown_with_a_marker(harness: Harness) -> None:
    """An older version accepted details up to ~252 levels, which then broke every list that
    showed them. Put such values in the database directly and read every route."""
    for build in (_alert, _change):
        path, body = build(harness, {"ok": True})
        assert (await harness.client.post(path, json=body)).status_code == 202
    await harness.process()
    too_deep = nested(250)
    async with harness.tocsin.db.transaction() as session:
        alert = (await session.execute(select(Alert))).scalars().one()
        await session.execute(update(Alert).values(body={**alert.body, "custom_details": too_deep}))
        await session.execute(update(LogEntry).values(channel={"type": "api", "summary": "s", "details": too_deep}))
        await session.execute(update(ChangeEvent).values(custom_details=too_deep))

    answers = await _read_everything(harness)
    shown = answers["alerts"]["alerts"][0]["body"]["details"]
    assert _contains_marker(shown) and depth_of(shown) == MAX_STORED_DEPTH - 1  # the body dict is level 1
    assert answers["alert"]["alert"]["body"]["details"] == shown
    assert _contains_marker(answers["change_events"]["change_events"][0]["custom_details"])
    entry = answers["log_entries"]["log_entries"][0]
    assert _contains_marker(entry["channel"]["details"])


async def test_an_over_deep_event_waiting_in_the_inbox_is_processed_with_the_marker(harness: Harness) -> None:
    """An event an older version accepted and had not processed yet still becomes an incident."""
    event, errors = validate_alert_event(harness.event(dedup_key="old", custom_details="placeholder"))
    assert event is not None, errors
    event.custom_details = nested(250)
    integration = (await harness.client.get("/services", headers=harness.auth)).json()["services"][0]
    row = inbox_row(event, integration["integrations"][0]["id"], harness.tocsin.runtime.clock.now())
    async with harness.tocsin.db.transaction() as session:
        session.add(InboxEvent(**row))
    assert await harness.process() == 1
    incident = (await harness.client.get("/incidents", headers=harness.auth)).json()["incidents"]
    assert len(incident) == 1
    alerts = await harness.client.get(f"/incidents/{incident[0]['id']}/alerts", headers=harness.auth)
    assert alerts.status_code == 200, alerts.text[:300]
    assert _contains_marker(alerts.json()["alerts"][0]["body"]["details"])


@pytest.mark.parametrize("nul", ["", "\\u0000"])
async def test_a_body_nested_past_python_recursion_is_a_400(harness: Harness, nul: str) -> None:
    """A NUL anywhere makes the body walked to strip it: 1,000 levels once answered 500."""
    deep = "[" * 1000 + f'"a{nul}"' + "]" * 1000
    body = (f'{{"routing_key": "{harness.routing_key}", "event_action": "trigger", "payload": {{"summary": "s",'
            f' "source": "h", "severity": "info"}}, "ignored": {deep}}}')
    answer = await harness.client.post("/v2/enqueue", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"] == [f"Event object is nested too deeply (at most {MAX_BODY_DEPTH} levels)"]
    assert await harness.process() == 0
