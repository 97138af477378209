"""Events API through HTTP: validation answers, success bodies, dedup semantics, rate limiting.

Every test runs on SQLite and PostgreSQL (the ``harness`` fixture). Events are processed only
when a test calls ``harness.process()``, so a test can put several events in one batch.
The rejection tables run as subtests on one app per database, to keep the file fast; every
rejection checks that nothing reached the inbox, alerts, incidents or change events.
Rate limiting lives in ``TestRateLimiting``, which overrides ``settings_overrides`` for its
tests only (the other tests send more than 3 events per key).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Harness
from tocsin.events.models import ChangeEvent, InboxEvent
from tocsin.incidents.models import Alert

# --- constants ------------------------------------------------------------------------------

V2 = "/v2/enqueue"
CHANGE = "/v2/change/enqueue"
V1 = "/generic/2010-04-15/create_event.json"
EVENT_PATHS = [V2, CHANGE, V1]
MAX_BODY = 512 * 1024
UNKNOWN_KEY = "0123456789abcdefABCDEF0123456789"  # well-formed, matches no integration
HEX32 = re.compile(r"[0-9a-f]{32}")

RK_MISSING = "'routing_key' is missing or blank"
RK_TYPE = "'routing_key' is invalid (must be a string)"
RK_LENGTH = "Length of 'routing_key' is incorrect (should be 32 characters)"
RK_ALNUM = "'routing_key' cannot contain non-alphanumeric characters."
ACTION_MISSING = "'event_action' is missing or blank"
ACTION_INVALID = ("'event_action' is invalid (must be one of the following: "
                  "'trigger', 'acknowledge' or 'resolve')")
DEDUP_MISSING = "'dedup_key' is missing or blank"
DEDUP_TOO_LONG = "'dedup_key' is too long (maximum is 255 characters)"
PAYLOAD_MISSING = "'payload' is missing or blank"
PAYLOAD_NOT_OBJECT = "'payload' is invalid (must be a JSON object)"
SUMMARY_MISSING = "'payload.summary' is missing or blank"
SUMMARY_TOO_LONG = "'payload.summary' is too long (maximum is 1024 characters)"
SUMMARY_TYPE = "'payload.summary' is invalid (must be a string)"
SOURCE_MISSING = "'payload.source' is missing or blank"
SOURCE_TYPE = "'payload.source' is invalid (must be a string)"
SEVERITY_MISSING = "'payload.severity' is missing or blank"
SEVERITY_INVALID = ("'payload.severity' is invalid (must be one of the following: "
                    "'critical', 'warning', 'error' or 'info')")
TIMESTAMP_INVALID = "'payload.timestamp' is invalid (must be an ISO 8601 date-time)"
TIMESTAMP_TYPE = "'payload.timestamp' is invalid (must be a string)"
NOT_AN_OBJECT = "Event object is invalid (must be a JSON object)"
SK_MISSING = "Service key is missing or blank"
SK_LENGTH = "Service key is the wrong length (should be 32 characters)"
EVENT_TYPE_INVALID = ("Event type is invalid (must be one of the following: "
                      "'trigger', 'acknowledge' or 'resolve')")
DESCRIPTION_MISSING = "Description is missing or blank"
INCIDENT_KEY_MISSING = "Incident key is missing or blank"

GOOD_PAYLOAD = {"summary": "CPU high on web-1", "source": "web-1", "severity": "critical"}
GOOD_V1 = {"event_type": "trigger", "incident_key": "v1/key", "description": "Disk full on db-1"}

# --- body builders: each returns a function of the routing key ------------------------------

DROP = object()  # marks a field to delete from the good body
Builder = Callable[[str], Any]


def _edit(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for name, value in changes.items():
        if value is DROP:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def v2(action: str = "trigger", fields: dict[str, Any] | None = None, **top: Any) -> Builder:
    """A valid v2 alert event, edited: ``fields`` edits the payload, ``top`` the top level."""
    def build(key: str) -> dict[str, Any]:
        body: dict[str, Any] = {"routing_key": key, "event_action": action}
        if action == "trigger":
            body["payload"] = _edit(GOOD_PAYLOAD, fields or {})
        else:
            body["dedup_key"] = "some/key"
        return _edit(body, top)
    return build


def change(fields: dict[str, Any] | None = None, **top: Any) -> Builder:
    def build(key: str) -> dict[str, Any]:
        body = {"routing_key": key, "payload": _edit({"summary": "Deployed v1.2.3"}, fields or {})}
        return _edit(body, top)
    return build


def v1(**top: Any) -> Builder:
    def build(key: str) -> dict[str, Any]:
        return _edit({"service_key": key, **GOOD_V1}, top)
    return build


def literal(value: Any) -> Builder:
    return lambda _key: value


@dataclass(frozen=True)
class Rejection:
    id: str
    path: str
    build: Builder
    errors: list[str]


def invalid(errors: list[str]) -> dict[str, Any]:
    return {"status": "invalid event", "message": "Event object is invalid", "errors": errors}


UNRECOGNIZED = {"status": "Unrecognized object", "message": "Event object format is unrecognized",
                "errors": ["JSON parse error"]}

JSON_HEADERS = {"Content-Type": "application/json"}


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


# --- reading state back -----------------------------------------------------------------------


async def list_incidents(h: Harness, **query: str) -> dict[str, Any]:
    params = {"date_range": "all", "total": "true", "limit": "100", "sort_by": "incident_number:asc", **query}
    r = await h.client.get("/incidents", params=params, headers=h.auth)
    assert r.status_code == 200, r.text
    return r.json()


async def incidents(h: Harness, **query: str) -> list[dict[str, Any]]:
    return (await list_incidents(h, **query))["incidents"]


async def log_types(h: Harness, incident_id: str) -> list[str]:
    r = await h.client.get(f"/incidents/{incident_id}/log_entries", params={"limit": "100"}, headers=h.auth)
    assert r.status_code == 200, r.text
    return [e["type"] for e in r.json()["log_entries"]]


async def count_rows(h: Harness, model: type, *where: Any) -> int:
    async with h.tocsin.db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def assert_nothing_written(h: Harness) -> None:
    """After a rejection: nothing reached the inbox, so processing creates nothing."""
    assert await count_rows(h, InboxEvent) == 0
    assert await h.process() == 0
    assert (await list_incidents(h))["total"] == 0
    assert await count_rows(h, Alert) == 0
    assert await count_rows(h, ChangeEvent) == 0


async def stored_counts(h: Harness) -> tuple[int, int, int]:
    """(incidents as GET /incidents totals them, alerts, change events)."""
    return (await list_incidents(h))["total"], await count_rows(h, Alert), await count_rows(h, ChangeEvent)


async def send_rejected(
    h: Harness, path: str, content: bytes | AsyncIterator[bytes],
    headers: dict[str, str] = JSON_HEADERS, method: str = "POST",
) -> httpx.Response:
    """Send a request that must be refused; check that it stored nothing, return the answer."""
    await h.process()
    before = await stored_counts(h)
    r = await h.client.request(method, path, content=content, headers=headers)
    assert await count_rows(h, InboxEvent) == 0, f"a refused request reached the inbox ({r.status_code})"
    assert await h.process() == 0
    assert await stored_counts(h) == before
    return r


async def add_integration(h: Harness, type_: str = "events_api_v2_inbound_integration") -> str:
    r = await h.client.post(f"/services/{h.seed.service_id}/integrations", headers=h.writer,
                            json={"integration": {"type": type_}})
    assert r.status_code == 201, r.text
    key: str = r.json()["integration"]["integration_key"]
    assert len(key) == 32 and key != h.routing_key
    return key


async def set_urgency_rule(h: Harness, rule: dict[str, Any]) -> None:
    r = await h.client.put(f"/services/{h.seed.service_id}", headers=h.writer,
                           json={"service": {"incident_urgency_rule": rule}})
    assert r.status_code == 200, r.text


def event(h: Harness, action: str = "trigger", dedup_key: str | None = None,
          routing_key: str | None = None, **payload: Any) -> dict[str, Any]:
    body = h.event(action, dedup_key, **payload)
    if routing_key is not None:
        body["routing_key"] = routing_key
    return body


async def accepted(h: Harness, body: dict[str, Any], path: str = V2) -> dict[str, Any]:
    r = await h.send(body, path)
    assert r.status_code == (200 if path == V1 else 202), r.text
    return r.json()


# --- 1. validation: every rule answers 400 with its own error -------------------------------

INVALID_BODIES = [
    # routing_key
    Rejection("rk-missing", V2, v2(routing_key=DROP), [RK_MISSING]),
    Rejection("rk-null", V2, v2(routing_key=None), [RK_MISSING]),
    Rejection("rk-blank", V2, v2(routing_key="   "), [RK_MISSING]),
    Rejection("rk-number", V2, v2(routing_key=12345678901234567890123456789012), [RK_TYPE]),
    Rejection("rk-array", V2, v2(routing_key=["a" * 32]), [RK_TYPE]),
    Rejection("rk-31-chars", V2, v2(routing_key="a" * 31), [RK_LENGTH]),
    Rejection("rk-33-chars", V2, v2(routing_key="a" * 33), [RK_LENGTH]),
    Rejection("rk-dash", V2, v2(routing_key="abcdef0123456789abcdef012345678-"), [RK_ALNUM]),
    Rejection("rk-non-ascii", V2, v2(routing_key="é" * 32), [RK_ALNUM]),
    Rejection("rk-short-and-space", V2, v2(routing_key="a b" * 10), [RK_LENGTH, RK_ALNUM]),
    # event_action
    Rejection("action-missing", V2, v2(event_action=DROP), [ACTION_MISSING]),
    Rejection("action-blank", V2, v2(event_action=""), [ACTION_MISSING]),
    Rejection("action-unknown", V2, v2(event_action="fire"), [ACTION_INVALID]),
    Rejection("action-number", V2, v2(event_action=1), [ACTION_INVALID]),
    # dedup_key
    Rejection("dedup-256-trigger", V2, v2(dedup_key="k" * 256), [DEDUP_TOO_LONG]),
    Rejection("dedup-256-ack", V2, v2("acknowledge", dedup_key="k" * 256), [DEDUP_TOO_LONG]),
    Rejection("dedup-missing-ack", V2, v2("acknowledge", dedup_key=DROP), [DEDUP_MISSING]),
    Rejection("dedup-missing-resolve", V2, v2("resolve", dedup_key=DROP), [DEDUP_MISSING]),
    Rejection("dedup-blank-resolve", V2, v2("resolve", dedup_key="  "), [DEDUP_MISSING]),
    # payload
    Rejection("payload-missing", V2, v2(payload=DROP), [PAYLOAD_MISSING]),
    Rejection("payload-null", V2, v2(payload=None), [PAYLOAD_MISSING]),
    Rejection("payload-string", V2, v2(payload="CPU high"), [PAYLOAD_NOT_OBJECT]),
    Rejection("payload-array", V2, v2(payload=[GOOD_PAYLOAD]), [PAYLOAD_NOT_OBJECT]),
    Rejection("summary-missing", V2, v2(fields={"summary": DROP}), [SUMMARY_MISSING]),
    Rejection("summary-blank", V2, v2(fields={"summary": " \t"}), [SUMMARY_MISSING]),
    Rejection("summary-1025", V2, v2(fields={"summary": "s" * 1025}), [SUMMARY_TOO_LONG]),
    Rejection("summary-number", V2, v2(fields={"summary": 42}), [SUMMARY_TYPE]),
    Rejection("summary-object", V2, v2(fields={"summary": {"text": "x"}}), [SUMMARY_TYPE]),
    Rejection("source-missing", V2, v2(fields={"source": DROP}), [SOURCE_MISSING]),
    Rejection("source-blank", V2, v2(fields={"source": ""}), [SOURCE_MISSING]),
    Rejection("source-array", V2, v2(fields={"source": ["web-1"]}), [SOURCE_TYPE]),
    Rejection("severity-missing", V2, v2(fields={"severity": DROP}), [SEVERITY_MISSING]),
    Rejection("severity-unknown", V2, v2(fields={"severity": "fatal"}), [SEVERITY_INVALID]),
    Rejection("severity-number", V2, v2(fields={"severity": 3}), [SEVERITY_INVALID]),
    Rejection("timestamp-words", V2, v2(fields={"timestamp": "yesterday"}), [TIMESTAMP_INVALID]),
    Rejection("timestamp-feb-30", V2, v2(fields={"timestamp": "2024-02-30T10:00:00Z"}), [TIMESTAMP_INVALID]),
    Rejection("timestamp-number", V2, v2(fields={"timestamp": 1700000000}), [TIMESTAMP_TYPE]),
    # links and images
    Rejection("links-string", V2, v2(links="https://x"), ["'links' is invalid (must be an array)"]),
    Rejection("links-item-string", V2, v2(links=["https://x"]), ["'links[0]' is invalid (must be a JSON object)"]),
    Rejection("links-href-missing", V2, v2(links=[{"href": "https://a"}, {"text": "no href"}]),
              ["'links[1].href' is missing or blank"]),
    Rejection("links-href-number", V2, v2(links=[{"href": 7}]), ["'links[0].href' is invalid (must be a string)"]),
    Rejection("images-object", V2, v2(images={"src": "x"}), ["'images' is invalid (must be an array)"]),
    Rejection("images-src-missing", V2, v2(images=[{"href": "https://a"}]), ["'images[0].src' is missing or blank"]),
    Rejection("images-alt-number", V2, v2(images=[{"src": "https://a/i.png", "alt": 1}]),
              ["'images[0].alt' is invalid (must be a string)"]),
    # several rules at once: all reported, in field order
    Rejection("several-errors", V2, v2(routing_key=DROP, fields={"severity": "fatal", "summary": DROP}),
              [RK_MISSING, SUMMARY_MISSING, SEVERITY_INVALID]),
    # not an object at all
    Rejection("v2-json-array", V2, literal([]), [NOT_AN_OBJECT]),
    Rejection("v2-json-number", V2, literal(42), [NOT_AN_OBJECT]),
    Rejection("v2-json-string", V2, literal("trigger"), [NOT_AN_OBJECT]),
    Rejection("v2-json-null", V2, literal(None), [NOT_AN_OBJECT]),
    # change events
    Rejection("change-rk-31", CHANGE, change(routing_key="a" * 31), [RK_LENGTH]),
    Rejection("change-payload-missing", CHANGE, change(payload=DROP), [PAYLOAD_MISSING]),
    Rejection("change-summary-missing", CHANGE, change(fields={"summary": DROP}), [SUMMARY_MISSING]),
    Rejection("change-summary-1025", CHANGE, change(fields={"summary": "s" * 1025}), [SUMMARY_TOO_LONG]),
    Rejection("change-timestamp", CHANGE, change(fields={"timestamp": "soon"}), [TIMESTAMP_INVALID]),
    Rejection("change-links", CHANGE, change(links=[{}]), ["'links[0].href' is missing or blank"]),
    Rejection("change-json-array", CHANGE, literal([1, 2]), [NOT_AN_OBJECT]),
    # v1
    Rejection("v1-service-key-missing", V1, v1(service_key=DROP), [SK_MISSING]),
    Rejection("v1-service-key-33", V1, v1(service_key="a" * 33), [SK_LENGTH]),
    Rejection("v1-event-type", V1, v1(event_type="alert"), [EVENT_TYPE_INVALID]),
    Rejection("v1-description-missing", V1, v1(description=DROP), [DESCRIPTION_MISSING]),
    Rejection("v1-resolve-no-key", V1, v1(event_type="resolve", incident_key=DROP), [INCIDENT_KEY_MISSING]),
    Rejection("v1-contexts", V1, v1(contexts=[{"type": "video"}]),
              ["'contexts[0].type' is invalid (must be one of the following: 'link' or 'image')"]),
    Rejection("v1-json-number", V1, literal(3.5), [NOT_AN_OBJECT]),
]


NOT_JSON = [
    ("words", b"not json"), ("empty", b""), ("truncated", b'{"routing_key": '),
    ("single-quotes", b"{'routing_key': 'x'}"), ("not-utf8", b"\xff\xfe{}"), ("trailing-garbage", b'{"a": 1} x'),
]
WRONG_CONTENT_TYPES = [
    "multipart/form-data; boundary=xyz", "application/xml", "text/xml", "text/html", "application/octet-stream",
]
LENIENT_CONTENT_TYPES = [
    None, "text/plain", "text/plain; charset=utf-8", "application/json", "application/json; charset=utf-8",
    "APPLICATION/JSON", "application/vnd.pagerduty+json",
    "application/x-www-form-urlencoded",  # what `curl -d` sends
]
OTHER_METHODS = ["GET", "PUT", "DELETE", "PATCH"]

# The rejection tables share one app per database (one subtest per row): a rejection writes
# nothing, and each row checks that for itself, so the rows cannot disturb each other.


async def test_invalid_events_answer_400_with_the_rule_that_failed(harness: Harness, subtests: pytest.Subtests) -> None:
    for case in INVALID_BODIES:
        with subtests.test(case.id):
            r = await send_rejected(harness, case.path, _json_bytes(case.build(harness.routing_key)))
            assert (r.status_code, r.json()) == (400, invalid(case.errors))
            assert r.headers["content-type"] == "application/json"
    await assert_nothing_written(harness)


async def test_body_that_is_not_json_is_unrecognized(harness: Harness, subtests: pytest.Subtests) -> None:
    for path in EVENT_PATHS:
        for name, raw in NOT_JSON:
            with subtests.test(f"{path} {name}"):
                r = await send_rejected(harness, path, raw)
                assert (r.status_code, r.json()) == (400, UNRECOGNIZED)
    await assert_nothing_written(harness)


async def test_well_formed_but_unknown_routing_key_is_rejected(harness: Harness, subtests: pytest.Subtests) -> None:
    for path, build in [(V2, v2()), (CHANGE, change()), (V1, v1())]:
        with subtests.test(path):
            r = await send_rejected(harness, path, _json_bytes(build(UNKNOWN_KEY)))
            assert (r.status_code, r.json()) == (400, invalid(["Invalid routing key"]))
    await assert_nothing_written(harness)


# --- 2. transport: content types, body size, methods ----------------------------------------

async def test_wrong_content_type_is_rejected(harness: Harness, subtests: pytest.Subtests) -> None:
    body = _json_bytes(v2()(harness.routing_key))
    for content_type in WRONG_CONTENT_TYPES:
        with subtests.test(content_type):
            r = await send_rejected(harness, V2, body, {"Content-Type": content_type})
            assert r.status_code == 400
            assert r.json()["status"] == "Unrecognized object"
    await assert_nothing_written(harness)


async def test_json_body_is_accepted_with_lenient_content_types(harness: Harness, subtests: pytest.Subtests) -> None:
    for n, content_type in enumerate(LENIENT_CONTENT_TYPES):
        with subtests.test(str(content_type)):
            headers = {} if content_type is None else {"Content-Type": content_type}
            body = _json_bytes(v2(dedup_key=f"ct/{n}")(harness.routing_key))
            r = await harness.client.post(V2, content=body, headers=headers)
            if content_type is None:
                assert "content-type" not in r.request.headers
            assert (r.status_code, r.json()) == (202,
                                                 {"status": "success", "message": "Event processed",
                                                  "dedup_key": f"ct/{n}"})
            assert await harness.process() == 1
            assert [i["incident_key"] for i in await incidents(harness, incident_key=f"ct/{n}")] == [f"ct/{n}"]


def _padded_trigger(key: str, size: int) -> bytes:
    """A valid trigger whose JSON encoding is exactly ``size`` bytes (padding in custom_details)."""
    body = v2(dedup_key="big/1", fields={"custom_details": {"pad": ""}})(key)
    empty = len(_json_bytes(body))
    body["payload"]["custom_details"]["pad"] = "x" * (size - empty)
    raw = _json_bytes(body)
    assert len(raw) == size
    return raw


async def test_body_of_exactly_512_kb_is_accepted(harness: Harness) -> None:
    r = await harness.client.post(V2, content=_padded_trigger(harness.routing_key, MAX_BODY), headers=JSON_HEADERS)
    assert r.status_code == 202, r.text
    assert await harness.process() == 1
    assert [i["incident_key"] for i in await incidents(harness)] == ["big/1"]


async def test_body_over_512_kb_with_content_length_is_413(harness: Harness) -> None:
    r = await send_rejected(harness, V2, _padded_trigger(harness.routing_key, MAX_BODY + 1))
    assert r.request.headers["content-length"] == str(MAX_BODY + 1)
    assert r.status_code == 413
    await assert_nothing_written(harness)


async def test_body_over_512_kb_streamed_without_content_length_is_413(harness: Harness) -> None:
    raw = _padded_trigger(harness.routing_key, 4 * MAX_BODY)
    chunk = 16 * 1024
    pulled = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal pulled
        for start in range(0, len(raw), chunk):
            pulled += chunk
            yield raw[start : start + chunk]

    r = await send_rejected(harness, V2, stream())
    assert "content-length" not in r.request.headers
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 413
    assert pulled <= MAX_BODY + chunk, "the server kept reading past the limit"
    await assert_nothing_written(harness)


async def test_methods_other_than_post_are_405(harness: Harness, subtests: pytest.Subtests) -> None:
    for path in EVENT_PATHS:
        for method in OTHER_METHODS:
            with subtests.test(f"{method} {path}"):
                r = await send_rejected(harness, path, b"", {}, method=method)
                assert r.status_code == 405
                assert "POST" in r.headers.get("allow", "")
    await assert_nothing_written(harness)


# --- 3. success bodies ------------------------------------------------------------------------

async def test_v2_trigger_answers_202_with_its_dedup_key(harness: Harness) -> None:
    r = await harness.send(event(harness, dedup_key="web-1/cpu"))
    assert (r.status_code, r.json()) == (202,
                                         {"status": "success", "message": "Event processed", "dedup_key": "web-1/cpu"})
    assert await harness.process() == 1
    [incident] = await incidents(harness)
    assert (incident["incident_key"], incident["title"], incident["status"]) == ("web-1/cpu",
                                                                                 "CPU high on web-1", "triggered")


@pytest.mark.parametrize("dedup_key", [DROP, None, "   "], ids=["absent", "null", "blank"])
async def test_trigger_without_dedup_key_gets_a_generated_one(harness: Harness, dedup_key: Any) -> None:
    body = v2(dedup_key=dedup_key)(harness.routing_key)
    first = await accepted(harness, body)
    second = await accepted(harness, body)
    assert HEX32.fullmatch(first["dedup_key"]) and HEX32.fullmatch(second["dedup_key"])
    assert first["dedup_key"] != second["dedup_key"]
    assert first == {"status": "success", "message": "Event processed", "dedup_key": first["dedup_key"]}
    await harness.process()
    keys = [i["incident_key"] for i in await incidents(harness)]
    assert keys == [first["dedup_key"], second["dedup_key"]]


VALID_EDGES = [
    ("dedup-key-255", v2(dedup_key="k" * 255)),
    ("summary-1024", v2(fields={"summary": "s" * 1024})),
    ("timestamp-z", v2(fields={"timestamp": "2024-05-01T10:00:00Z"})),
    ("timestamp-compact-offset", v2(fields={"timestamp": "2024-05-01T10:00:00.123+0200"})),
    ("timestamp-no-offset", v2(fields={"timestamp": "2024-05-01T10:00:00"})),
    ("timestamp-offset-and-stray-z", v2(fields={"timestamp": "2024-05-01T10:00:00+00:00Z"})),
    ("timestamp-blank", v2(fields={"timestamp": " "})),
    ("optional-fields", v2(fields={"component": "db", "group": "prod", "class": "disk"}, client="Nagios",
                           client_url="https://nagios.example.com")),
    ("custom-details-object", v2(fields={"custom_details": {"free": "1%", "nested": {"a": [1, 2]}}})),
    ("custom-details-string", v2(fields={"custom_details": "free text"})),
    ("custom-details-array", v2(fields={"custom_details": [1, "two", None]})),
    ("links-and-images", v2(links=[{"href": "https://a", "text": "A"}, {"href": "https://b"}],
                            images=[{"src": "https://i/1.png", "href": "https://i", "alt": "graph"}])),
    ("unknown-fields", v2(extra_field=1, fields={"another": True})),
    ("unicode", v2(fields={"summary": "Dísk fúll 💾 on 東京-1", "source": "東京-1"})),
]


async def test_valid_edge_cases_are_accepted_and_open_incidents(harness: Harness, subtests: pytest.Subtests) -> None:
    for n, (name, build) in enumerate(VALID_EDGES):
        with subtests.test(name):
            body = build(harness.routing_key)
            body.setdefault("dedup_key", f"edge/{n}")
            answer = await accepted(harness, body)
            assert answer["dedup_key"] == body["dedup_key"]
            assert await harness.process() == 1
            [incident] = await incidents(harness, incident_key=body["dedup_key"])
            assert incident["title"] == body["payload"]["summary"]


async def test_a_deleted_integrations_key_is_refused(harness: Harness) -> None:
    r = await harness.client.post(f"/services/{harness.seed.service_id}/integrations", headers=harness.writer,
                                  json={"integration": {"type": "events_api_v2_inbound_integration"}})
    integration = r.json()["integration"]
    await accepted(harness, event(harness, routing_key=integration["integration_key"]))  # known, and cached
    await harness.process()
    r = await harness.client.delete(f"/services/{harness.seed.service_id}/integrations/{integration['id']}",
                                    headers=harness.writer)
    assert r.status_code == 204, r.text
    r = await send_rejected(harness, V2, _json_bytes(event(harness, routing_key=integration["integration_key"])))
    assert (r.status_code, r.json()) == (400, invalid(["Invalid routing key"]))


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
async def test_acknowledge_and_resolve_answer_202_with_their_key(harness: Harness, action: str) -> None:
    r = await harness.send(event(harness, action, "web-1/cpu"))
    assert (r.status_code, r.json()) == (202,
                                         {"status": "success", "message": "Event processed", "dedup_key": "web-1/cpu"})


async def test_change_event_is_listed_and_opens_no_incident(harness: Harness) -> None:
    stamp = datetime.now(UTC).replace(microsecond=0)
    body = {
        "routing_key": harness.routing_key,
        "payload": {"summary": "Deployed api v1.2.3", "source": "ci-runner-4", "timestamp": stamp.isoformat(),
                    "custom_details": {"build": 812, "commit": "abc123"}},
        "links": [{"href": "https://ci.example.com/b/812", "text": "Build 812"}, {"href": "https://git/abc123"}],
    }
    r = await harness.send(body, CHANGE)
    assert (r.status_code, r.json()) == (202, {"status": "success", "message": "Change event processed"})
    assert await harness.process() == 1
    assert (await list_incidents(harness))["total"] == 0
    assert await count_rows(harness, Alert) == 0
    r = await harness.client.get("/change_events", params={"total": "true"}, headers=harness.auth)
    assert r.status_code == 200, r.text
    listed = r.json()
    assert listed["total"] == 1
    [change_event] = listed["change_events"]
    assert change_event["summary"] == "Deployed api v1.2.3"
    assert change_event["source"] == "ci-runner-4"
    assert change_event["links"] == body["links"]
    assert change_event["custom_details"] == {"build": 812, "commit": "abc123"}
    assert change_event["timestamp"] == stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [s["id"] for s in change_event["services"]] == [harness.seed.service_id]


async def test_v1_trigger_acknowledge_resolve_drive_the_incident(harness: Harness) -> None:
    key = harness.routing_key
    r = await harness.send({"service_key": key, "event_type": "trigger", "incident_key": "db-1/disk",
                            "description": "Disk full on db-1", "details": {"free": "0%"}}, V1)
    assert (r.status_code, r.json()) == (200,
                                         {"status": "success", "message": "Event processed",
                                          "incident_key": "db-1/disk"})
    await harness.process()
    [incident] = await incidents(harness)
    assert (incident["incident_key"], incident["title"], incident["status"]) == ("db-1/disk",
                                                                                 "Disk full on db-1", "triggered")

    for event_type, status in [("acknowledge", "acknowledged"), ("resolve", "resolved")]:
        r = await harness.send({"service_key": key, "event_type": event_type, "incident_key": "db-1/disk"}, V1)
        assert (r.status_code, r.json()["incident_key"]) == (200, "db-1/disk")
        await harness.process()
        [incident] = await incidents(harness)
        assert incident["status"] == status
    assert await log_types(harness, incident["id"]) == [
        "resolve_log_entry", "acknowledge_log_entry", "assign_log_entry", "trigger_log_entry"]


async def test_v1_trigger_without_incident_key_gets_a_generated_one(harness: Harness) -> None:
    body = await accepted(harness, v1(incident_key=DROP)(harness.routing_key), V1)
    assert HEX32.fullmatch(body["incident_key"])
    await harness.process()
    assert [i["incident_key"] for i in await incidents(harness)] == [body["incident_key"]]


# --- 4. dedup semantics ---------------------------------------------------------------------

async def test_repeated_triggers_of_one_key_make_one_incident_with_a_log_entry_each(harness: Harness) -> None:
    await accepted(harness, event(harness, dedup_key="k"))
    await harness.process()
    for _ in range(2):  # one more in its own batch, then two in one batch
        await accepted(harness, event(harness, dedup_key="k"))
    await harness.process()
    await accepted(harness, event(harness, dedup_key="k"))
    await harness.process()
    [incident] = await incidents(harness)
    assert incident["alert_counts"] == {"all": 1, "triggered": 1, "resolved": 0}
    assert await log_types(harness, incident["id"]) == (
        ["trigger_log_entry"] * 3 + ["assign_log_entry", "trigger_log_entry"])


async def test_trigger_on_an_acknowledged_incident_adds_to_it(harness: Harness) -> None:
    await accepted(harness, event(harness, dedup_key="k"))
    await accepted(harness, event(harness, "acknowledge", "k"))
    await harness.process()
    await accepted(harness, event(harness, dedup_key="k"))
    await harness.process()
    [incident] = await incidents(harness)
    assert incident["status"] == "acknowledged"
    assert await log_types(harness, incident["id"]) == [
        "trigger_log_entry", "acknowledge_log_entry", "assign_log_entry", "trigger_log_entry"]


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
async def test_acknowledge_or_resolve_without_open_alert_does_nothing(harness: Harness, action: str) -> None:
    await accepted(harness, event(harness, action, "never-triggered"))
    assert await harness.process() == 1  # taken from the inbox ...
    assert await count_rows(harness, InboxEvent) == 0
    assert (await list_incidents(harness))["total"] == 0  # ... and nothing came of it
    assert await count_rows(harness, Alert) == 0
    r = await harness.client.get("/log_entries", params={"date_range": "all", "total": "true"}, headers=harness.auth)
    assert r.json()["total"] == 0


async def test_resolve_then_trigger_same_key_opens_a_second_incident(harness: Harness) -> None:
    await accepted(harness, event(harness, dedup_key="k"))
    await harness.process()
    await accepted(harness, event(harness, "resolve", "k"))
    await harness.process()
    await accepted(harness, event(harness, dedup_key="k"))
    await harness.process()
    first, second = await incidents(harness)
    assert (first["incident_number"], first["status"]) == (1, "resolved")
    assert (second["incident_number"], second["status"], second["incident_key"]) == (2, "triggered", "k")
    assert await log_types(harness, first["id"]) == ["resolve_log_entry", "assign_log_entry", "trigger_log_entry"]
    assert await log_types(harness, second["id"]) == ["assign_log_entry", "trigger_log_entry"]


async def test_events_never_reopen_a_resolved_incident(harness: Harness) -> None:
    await accepted(harness, event(harness, dedup_key="k"))
    await harness.process()
    [first] = await incidents(harness)
    # resolved through REST this time: its alert is resolved with it and the key is free again
    r = await harness.client.put(f"/incidents/{first['id']}", headers=harness.writer,
                                 json={"incident": {"type": "incident_reference", "status": "resolved"}})
    assert r.status_code == 200, r.text
    resolved_at = r.json()["incident"]["resolved_at"]
    for action in ("acknowledge", "resolve"):  # nothing open: no-ops
        await accepted(harness, event(harness, action, "k"))
    await harness.process()
    await accepted(harness, event(harness, dedup_key="k"))
    await accepted(harness, event(harness, "acknowledge", "k"))
    await harness.process()
    first_now, second = await incidents(harness)
    assert first_now["id"] == first["id"]
    assert (first_now["status"], first_now["resolved_at"]) == ("resolved", resolved_at)
    assert await log_types(harness, first["id"]) == ["resolve_log_entry", "assign_log_entry", "trigger_log_entry"]
    assert (second["status"], second["incident_key"]) == ("acknowledged", "k")


async def test_follow_ups_count_only_through_the_same_routing_key(harness: Harness) -> None:
    other = await add_integration(harness)
    await accepted(harness, event(harness, dedup_key="k"))
    await accepted(harness, event(harness, dedup_key="k", routing_key=other))  # not a follow-up of the first
    await accepted(harness, event(harness, "acknowledge", "only-on-a", routing_key=other))
    await harness.process()
    a, b = await incidents(harness)
    assert a["incident_key"] == b["incident_key"] == "k"

    await accepted(harness, event(harness, "resolve", "k", routing_key=other))
    await accepted(harness, event(harness, dedup_key="k"))  # follow-up of a only
    await harness.process()
    a, b = await incidents(harness)
    assert (a["status"], b["status"]) == ("triggered", "resolved")
    assert await log_types(harness, a["id"]) == ["trigger_log_entry", "assign_log_entry", "trigger_log_entry"]
    assert await log_types(harness, b["id"]) == ["resolve_log_entry", "assign_log_entry", "trigger_log_entry"]


async def test_v1_and_v2_events_on_one_key_share_dedup(harness: Harness) -> None:
    await accepted(harness, event(harness, dedup_key="shared"))
    await accepted(harness, {"service_key": harness.routing_key, "event_type": "resolve", "incident_key": "shared"}, V1)
    await harness.process()
    [incident] = await incidents(harness)
    assert incident["status"] == "resolved"


URGENCY_CASES = [
    pytest.param({"type": "severity_based"},
                 {"critical": "high", "error": "high", "warning": "low", "info": "low"}, id="severity-based"),
    pytest.param({"type": "constant", "urgency": "severity_based"},
                 {"critical": "high", "error": "high", "warning": "low", "info": "low"}, id="constant-severity-based"),
    pytest.param({"type": "constant", "urgency": "low"},
                 {"critical": "low", "error": "low", "warning": "low", "info": "low"}, id="constant-low"),
    pytest.param(None, {"critical": "high", "error": "high", "warning": "high", "info": "high"}, id="default-high"),
]


@pytest.mark.parametrize(("rule", "expected"), URGENCY_CASES)
async def test_urgency_follows_the_service_rule(harness: Harness, rule: dict[str, Any] | None,
                                                expected: dict[str, str]) -> None:
    if rule is not None:
        await set_urgency_rule(harness, rule)
    for severity in expected:
        await accepted(harness, event(harness, dedup_key=severity, severity=severity))
    await harness.process()
    assert {i["incident_key"]: i["urgency"] for i in await incidents(harness)} == expected


async def test_trigger_resolve_trigger_in_one_batch_makes_two_incidents(harness: Harness) -> None:
    for action in ("trigger", "resolve", "trigger"):
        await accepted(harness, event(harness, action, "flap"))
    assert await harness.process() == 3
    first, second = await incidents(harness)
    assert (first["status"], second["status"]) == ("resolved", "triggered")
    assert first["incident_key"] == second["incident_key"] == "flap"
    assert await count_rows(harness, Alert, Alert.status != "resolved") == 1


async def test_ack_then_resolve_of_a_new_alert_in_one_batch(harness: Harness) -> None:
    for action in ("trigger", "acknowledge", "resolve", "acknowledge"):
        await accepted(harness, event(harness, action, "quick"))
    assert await harness.process() == 4
    [incident] = await incidents(harness)
    assert incident["status"] == "resolved"
    assert await log_types(harness, incident["id"]) == [
        "resolve_log_entry", "acknowledge_log_entry", "assign_log_entry", "trigger_log_entry"]


# --- 5. robustness: valid events every database must store ----------------------------------

async def test_change_event_with_long_source_is_stored(harness: Harness) -> None:
    body = change(fields={"source": "s" * 300})(harness.routing_key)
    await accepted(harness, body, CHANGE)
    await harness.process()
    assert await count_rows(harness, InboxEvent) == 0, "the event was left in the inbox as a dead letter"
    r = await harness.client.get("/change_events", headers=harness.auth)
    assert [e["source"] for e in r.json()["change_events"]] == ["s" * 300]


async def test_trigger_with_nul_character_is_stored(harness: Harness) -> None:
    await accepted(harness, event(harness, dedup_key="nul", summary="bad\u0000byte", custom_details={"k": "a\u0000b"}))
    await harness.process()
    assert [i["incident_key"] for i in await incidents(harness)] == ["nul"]


# --- 6. rate limiting ---------------------------------------------------------------------------

RATE_LIMIT = 3


class TestRateLimiting:
    """With ``events_rate_limit = 3``: the 4th event in a minute on one routing key is refused."""

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"events_rate_limit": RATE_LIMIT}

    async def test_fourth_v2_event_is_throttled_with_429(self, harness: Harness) -> None:
        for _ in range(RATE_LIMIT):
            await accepted(harness, event(harness, dedup_key="k"))
        r = await harness.send(event(harness, dedup_key="k"))
        assert r.status_code == 429
        assert r.json()["status"] == "throttle event"
        await harness.process()
        [incident] = await incidents(harness)
        assert await log_types(harness, incident["id"]) == (
            ["trigger_log_entry"] * (RATE_LIMIT - 1) + ["assign_log_entry", "trigger_log_entry"])

    async def test_change_events_count_towards_the_limit(self, harness: Harness) -> None:
        for _ in range(RATE_LIMIT):
            await accepted(harness, change()(harness.routing_key), CHANGE)
        r = await harness.send(change()(harness.routing_key), CHANGE)
        assert r.status_code == 429
        await harness.process()
        assert await count_rows(harness, ChangeEvent) == RATE_LIMIT

    async def test_v1_is_throttled_with_403(self, harness: Harness) -> None:
        for _ in range(RATE_LIMIT):
            await accepted(harness, v1()(harness.routing_key), V1)
        r = await harness.send(v1()(harness.routing_key), V1)
        assert r.status_code == 403
        assert r.json()["status"] == "throttle event"

    async def test_another_routing_key_is_unaffected(self, harness: Harness) -> None:
        other = await add_integration(harness)
        for _ in range(RATE_LIMIT):
            await accepted(harness, event(harness, dedup_key="a"))
        assert (await harness.send(event(harness, dedup_key="a"))).status_code == 429
        for _ in range(RATE_LIMIT):
            await accepted(harness, event(harness, dedup_key="b", routing_key=other))
        assert (await harness.send(event(harness, dedup_key="b", routing_key=other))).status_code == 429
        await harness.process()
        assert sorted(i["incident_key"] for i in await incidents(harness)) == ["a", "b"]

    async def test_invalid_events_do_not_use_up_the_limit(self, harness: Harness) -> None:
        for _ in range(RATE_LIMIT + 2):
            r = await harness.send(v2(fields={"severity": "fatal"})(harness.routing_key))
            assert r.status_code == 400
        for _ in range(RATE_LIMIT):
            await accepted(harness, event(harness, dedup_key="k"))
