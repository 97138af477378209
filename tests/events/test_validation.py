"""Tests for tocsin.events.validation: every rule, boundaries, wrong types, and properties."""
from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.events.validation import (
    MAX_BODY_BYTES,
    NOT_AN_OBJECT,
    ParsedEvent,
    validate_alert_event,
    validate_change_event,
    validate_v1_event,
)

KEY = "0123456789abcdefABCDEF0123456789"
assert len(KEY) == 32

RK_LENGTH = "Length of 'routing_key' is incorrect (should be 32 characters)"
RK_ALNUM = "'routing_key' cannot contain non-alphanumeric characters."
SK_LENGTH = "Service key is the wrong length (should be 32 characters)"
SK_ALNUM = "Service key cannot contain non-alphanumeric characters."
SEVERITY_INVALID = (
    "'payload.severity' is invalid (must be one of the following: "
    "'critical', 'warning', 'error' or 'info')"
)
ACTION_INVALID = (
    "'event_action' is invalid (must be one of the following: "
    "'trigger', 'acknowledge' or 'resolve')"
)
EVENT_TYPE_INVALID = (
    "Event type is invalid (must be one of the following: "
    "'trigger', 'acknowledge' or 'resolve')"
)
WRONG_TYPES = [0, 1.5, True, [], ["x"], {}, {"a": "b"}]
Result = tuple[ParsedEvent | None, list[str]]
Validate = Callable[[Any], Result]
NON_OBJECTS: list[Any] = [None, [], [{}], 0, 1.5, True, False, "", "{}", "string"]


def trigger(**overrides: Any) -> dict[str, Any]:
    body = {
        "routing_key": KEY,
        "event_action": "trigger",
        "payload": {"summary": "Disk full on db-7", "source": "db-7.example.net",
                    "severity": "critical"},
    }
    body.update(overrides)
    return body


def with_payload(**fields: Any) -> dict[str, Any]:
    body = trigger()
    body["payload"].update(fields)
    return body


def without_payload(*names: str) -> dict[str, Any]:
    body = trigger()
    for name in names:
        del body["payload"][name]
    return body


def change(**overrides: Any) -> dict[str, Any]:
    body = {"routing_key": KEY, "payload": {"summary": "Deployed build 912"}}
    body.update(overrides)
    return body


def v1(**overrides: Any) -> dict[str, Any]:
    body = {"service_key": KEY, "event_type": "trigger", "description": "Ping failed"}
    body.update(overrides)
    return body


def ok(result: Result) -> ParsedEvent:
    event, errors = result
    assert errors == [], errors
    assert isinstance(event, ParsedEvent)
    return event


def errs(result: Result) -> list[str]:
    event, errors = result
    assert event is None
    assert errors and all(isinstance(e, str) for e in errors)
    return errors


def test_max_body_bytes() -> None:
    assert MAX_BODY_BYTES == 512 * 1024


# --- body shape --------------------------------------------------------------------------

@pytest.mark.parametrize("validate",
                         [validate_alert_event, validate_change_event, validate_v1_event])
@pytest.mark.parametrize("body", NON_OBJECTS)
def test_body_must_be_object(validate: Validate, body: Any) -> None:
    assert validate(body) == (None, [NOT_AN_OBJECT])


# --- v2 alert: a full valid trigger -------------------------------------------------------

def test_full_trigger_is_normalised() -> None:
    body = trigger(
        dedup_key="db-7/disk",
        client="Watcher",
        client_url="https://watcher.example.net",
        links=[{"href": "https://runbook.example.net/disk", "text": "Runbook", "extra": 1},
               {"href": "https://x.example.net"}],
        images=[{"src": "https://img.example.net/a.png", "href": "https://h", "alt": "graph",
                 "junk": True}, {"src": "https://img.example.net/b.png"}],
        unknown_top_level="ignored",
    )
    body["payload"].update(timestamp="2015-07-17T08:42:58.315+0000", component="postgres",
                           group="prod-db", custom_details={"free": "1%", "n": [1, 2]},
                           **{"class": "disk"})
    event = ok(validate_alert_event(body))
    assert event == ParsedEvent(
        kind="alert", routing_key=KEY, event_action="trigger", dedup_key="db-7/disk",
        summary="Disk full on db-7", source="db-7.example.net", severity="critical",
        timestamp=datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC),
        component="postgres", group="prod-db", class_="disk",
        custom_details={"free": "1%", "n": [1, 2]}, client="Watcher",
        client_url="https://watcher.example.net",
        links=[{"href": "https://runbook.example.net/disk", "text": "Runbook"},
               {"href": "https://x.example.net"}],
        images=[{"src": "https://img.example.net/a.png", "href": "https://h", "alt": "graph"},
                {"src": "https://img.example.net/b.png"}],
        api_version="v2",
    )


def test_minimal_trigger_defaults() -> None:
    event = ok(validate_alert_event(trigger()))
    assert event.dedup_key is None
    assert event.timestamp is None
    assert (event.component, event.group, event.class_) == (None, None, None)
    assert event.custom_details is None
    assert (event.client, event.client_url) == (None, None)
    assert event.links == [] and event.images == []


def test_validation_does_not_mutate_input() -> None:
    body = trigger(links=[{"href": "h", "x": 1}])
    before = copy.deepcopy(body)
    validate_alert_event(body)
    assert body == before


def test_all_errors_are_collected() -> None:
    body = {"routing_key": "short-key!", "event_action": "trigger", "dedup_key": 5,
            "payload": {"summary": "", "source": 3, "severity": "fatal", "timestamp": "nope",
                        "component": [], "group": {}, "class": 1.0},
            "client": 1, "client_url": False, "links": "x", "images": [1]}
    assert errs(validate_alert_event(body)) == [
        RK_LENGTH, RK_ALNUM,
        "'dedup_key' is invalid (must be a string)",
        "'payload.summary' is missing or blank",
        "'payload.source' is invalid (must be a string)",
        SEVERITY_INVALID,
        "'payload.timestamp' is invalid (must be an ISO 8601 date-time)",
        "'payload.component' is invalid (must be a string)",
        "'payload.group' is invalid (must be a string)",
        "'payload.class' is invalid (must be a string)",
        "'links' is invalid (must be an array)",
        "'images[0]' is invalid (must be a JSON object)",
        "'client' is invalid (must be a string)",
        "'client_url' is invalid (must be a string)",
    ]


# --- routing_key ------------------------------------------------------------------------------

ROUTING_KEY_CASES = [
    (KEY, []),
    (KEY[:31], [RK_LENGTH]),
    (KEY + "a", [RK_LENGTH]),
    ("a", [RK_LENGTH]),
    ("0123456789abcdef-123456789abcdef", [RK_ALNUM]),          # 32 chars, one dash
    (" " + KEY[1:], [RK_ALNUM]),                                 # leading space
    ("e+23rschqsESqk9Q6_-g", [RK_LENGTH, RK_ALNUM]),            # a 20-char REST-style key
    ("é" * 32, [RK_ALNUM]),                                     # unicode letters
    ("١" * 32, [RK_ALNUM]),                                     # unicode (Arabic-Indic) digits
    ("ＡＢＣＤ" * 8, [RK_ALNUM]),                                # full-width letters
    (KEY[:31] + "\n", [RK_ALNUM]),
]


@pytest.mark.parametrize(("key", "expected"), ROUTING_KEY_CASES)
def test_routing_key_rules(key: Any, expected: Any) -> None:
    assert validate_alert_event(trigger(routing_key=key))[1] == expected
    assert validate_change_event(change(routing_key=key))[1] == expected


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_routing_key_missing_or_blank(value: Any) -> None:
    expected = ["'routing_key' is missing or blank"]
    assert validate_alert_event(trigger(routing_key=value))[1] == expected
    assert validate_change_event(change(routing_key=value))[1] == expected
    body = trigger()
    del body["routing_key"]
    assert validate_alert_event(body)[1] == expected


@pytest.mark.parametrize("value", [*WRONG_TYPES, 12345678901234567890123456789012])
def test_routing_key_wrong_type(value: Any) -> None:
    expected = ["'routing_key' is invalid (must be a string)"]
    assert validate_alert_event(trigger(routing_key=value))[1] == expected
    assert validate_change_event(change(routing_key=value))[1] == expected


# --- event_action -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [None, "", "  "])
def test_event_action_missing_or_blank(value: Any) -> None:
    body = trigger(event_action=value)
    assert errs(validate_alert_event(body)) == ["'event_action' is missing or blank"]
    del body["event_action"]
    assert errs(validate_alert_event(body)) == ["'event_action' is missing or blank"]


@pytest.mark.parametrize("value", ["Trigger", "TRIGGER", "ack", "resolved", "create", " trigger",
                                   *WRONG_TYPES])
def test_event_action_invalid(value: Any) -> None:
    assert errs(validate_alert_event(trigger(event_action=value))) == [ACTION_INVALID]


@pytest.mark.parametrize("action", ["trigger", "acknowledge", "resolve"])
def test_event_action_accepted(action: str) -> None:
    event = ok(validate_alert_event(trigger(event_action=action, dedup_key="k")))
    assert event.event_action == action and event.kind == "alert"


# --- dedup_key --------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["trigger", "acknowledge", "resolve"])
@pytest.mark.parametrize(("length", "valid"), [(1, True), (255, True), (256, False), (5000, False)])
def test_dedup_key_length(action: str, length: int, valid: bool) -> None:
    body = trigger(event_action=action, dedup_key="k" * length)
    if valid:
        assert ok(validate_alert_event(body)).dedup_key == "k" * length
    else:
        assert errs(validate_alert_event(body)) == [
            "'dedup_key' is too long (maximum is 255 characters)"]


def test_dedup_key_counts_characters_not_bytes() -> None:
    assert ok(validate_alert_event(trigger(dedup_key="鍵" * 255))).dedup_key == "鍵" * 255
    assert errs(validate_alert_event(trigger(dedup_key="鍵" * 256)))


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_dedup_key_required_for_ack_and_resolve(action: str, value: Any) -> None:
    body = {"routing_key": KEY, "event_action": action, "dedup_key": value}
    assert errs(validate_alert_event(body)) == ["'dedup_key' is missing or blank"]
    del body["dedup_key"]
    assert errs(validate_alert_event(body)) == ["'dedup_key' is missing or blank"]


@pytest.mark.parametrize("value", [None, "", "  "])
def test_trigger_without_dedup_key_gets_none(value: Any) -> None:
    assert ok(validate_alert_event(trigger(dedup_key=value))).dedup_key is None


@pytest.mark.parametrize("action", ["trigger", "acknowledge", "resolve"])
@pytest.mark.parametrize("value", WRONG_TYPES)
def test_dedup_key_wrong_type(action: str, value: Any) -> None:
    assert errs(validate_alert_event(trigger(event_action=action, dedup_key=value))) == [
        "'dedup_key' is invalid (must be a string)"]


def test_dedup_key_kept_as_given() -> None:
    assert ok(validate_alert_event(trigger(dedup_key=" a/b c "))).dedup_key == " a/b c "


# --- acknowledge / resolve ignore the payload and trigger-only fields -------------------------

@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_ack_resolve_ignore_payload_and_trigger_fields(action: Literal["acknowledge", "resolve"]) -> None:
    body = {"routing_key": KEY, "event_action": action, "dedup_key": "db-7/disk",
            "payload": "not an object", "client": 5, "client_url": [], "links": "x",
            "images": {"src": 1}}
    event = ok(validate_alert_event(body))
    assert event == ParsedEvent(
        kind="alert", routing_key=KEY, event_action=action, dedup_key="db-7/disk",
        summary=None, source=None, severity=None, timestamp=None, component=None, group=None,
        class_=None, custom_details=None, client=None, client_url=None, links=[], images=[],
        api_version="v2")


# --- payload ----------------------------------------------------------------------------------

def test_trigger_payload_missing() -> None:
    body = trigger()
    del body["payload"]
    assert errs(validate_alert_event(body)) == ["'payload' is missing or blank"]
    assert errs(validate_alert_event(trigger(payload=None))) == ["'payload' is missing or blank"]


@pytest.mark.parametrize("value", ["summary", "", 1, 1.5, True, [], [{"summary": "x"}]])
def test_trigger_payload_wrong_type(value: Any) -> None:
    assert errs(validate_alert_event(trigger(payload=value))) == [
        "'payload' is invalid (must be a JSON object)"]


def test_trigger_empty_payload_lists_every_required_field() -> None:
    assert errs(validate_alert_event(trigger(payload={}))) == [
        "'payload.summary' is missing or blank",
        "'payload.source' is missing or blank",
        "'payload.severity' is missing or blank",
    ]


@pytest.mark.parametrize("field", ["summary", "source", "severity"])
def test_required_payload_field_missing(field: str) -> None:
    assert errs(validate_alert_event(without_payload(field))) == [
        f"'payload.{field}' is missing or blank"]


@pytest.mark.parametrize("field", ["summary", "source", "severity"])
@pytest.mark.parametrize("value", [None, "", " ", "\n\t "])
def test_required_payload_field_blank(field: str, value: Any) -> None:
    assert errs(validate_alert_event(with_payload(**{field: value}))) == [
        f"'payload.{field}' is missing or blank"]


@pytest.mark.parametrize("field", ["summary", "source"])
@pytest.mark.parametrize("value", WRONG_TYPES)
def test_required_payload_string_wrong_type(field: str, value: Any) -> None:
    assert errs(validate_alert_event(with_payload(**{field: value}))) == [
        f"'payload.{field}' is invalid (must be a string)"]


@pytest.mark.parametrize(("length", "valid"), [(1, True), (1023, True), (1024, True),
                                               (1025, False), (100_000, False)])
def test_summary_length(length: int, valid: bool) -> None:
    for validate, body in ((validate_alert_event, with_payload(summary="s" * length)),
                           (validate_change_event, change(payload={"summary": "s" * length}))):
        if valid:
            assert ok(validate(body)).summary == "s" * length
        else:
            assert errs(validate(body)) == [
                "'payload.summary' is too long (maximum is 1024 characters)"]


def test_summary_unicode_and_kept_as_given() -> None:
    assert ok(validate_alert_event(with_payload(summary="🔥" * 1024))).summary == "🔥" * 1024
    assert errs(validate_alert_event(with_payload(summary="🔥" * 1025)))
    text = "  Plattenplatz fast voll — 磁盘已满 \n"
    assert ok(validate_alert_event(with_payload(summary=text))).summary == text


@pytest.mark.parametrize("severity", ["critical", "error", "warning", "info"])
def test_severity_accepted(severity: str) -> None:
    assert ok(validate_alert_event(with_payload(severity=severity))).severity == severity


@pytest.mark.parametrize("value", ["Critical", "CRITICAL", "fatal", "none", "high", "warn",
                                   " info", *WRONG_TYPES])
def test_severity_invalid(value: Any) -> None:
    assert errs(validate_alert_event(with_payload(severity=value))) == [SEVERITY_INVALID]


# --- timestamp --------------------------------------------------------------------------------

TIMESTAMP_CASES = [
    ("2015-07-17T08:42:58Z", datetime(2015, 7, 17, 8, 42, 58, tzinfo=UTC)),
    ("2015-07-17T08:42:58.315Z", datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)),
    ("2015-07-17T08:42:58.315+0000", datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)),
    ("2015-07-17T08:42:58+00:00", datetime(2015, 7, 17, 8, 42, 58, tzinfo=UTC)),
    ("2015-07-17T10:42:58+02:00", datetime(2015, 7, 17, 8, 42, 58, tzinfo=UTC)),
    ("2015-07-17T03:12:58-05:30", datetime(2015, 7, 17, 8, 42, 58, tzinfo=UTC)),
    ("2015-07-17T08:42:58", datetime(2015, 7, 17, 8, 42, 58, tzinfo=UTC)),  # naive = UTC
    ("2015-07-17T08:42:58.123456789Z", datetime(2015, 7, 17, 8, 42, 58, 123456, tzinfo=UTC)),
    ("2015-07-17", datetime(2015, 7, 17, tzinfo=UTC)),
    ("2015-07-17T08:42:58.315+00:00Z", datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)),
    ("  2015-07-17T08:42:58Z ", datetime(2015, 7, 17, 8, 42, 58, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "expected"), TIMESTAMP_CASES)
def test_timestamp_parsed_to_aware_utc(text: Any, expected: Any) -> None:
    for validate, body in ((validate_alert_event, with_payload(timestamp=text)),
                           (validate_change_event, change(payload={"summary": "s",
                                                                   "timestamp": text}))):
        ts = ok(validate(body)).timestamp
        assert ts == expected
        assert ts.utcoffset() == timedelta(0) and ts.tzinfo is UTC


@pytest.mark.parametrize("text", ["yesterday", "2015-13-01T00:00:00Z", "2015-02-30",
                                  "17/07/2015 08:42", "2015-07-17T25:00:00Z", "1437122578",
                                  "2015-07-17T08:42:58+25:00", "0001-01-01T00:00:00+01:00",
                                  "9999-12-31T23:59:59-01:00", "2015-07-17T08:42:58ZZ"])
def test_timestamp_invalid(text: Any) -> None:
    expected = ["'payload.timestamp' is invalid (must be an ISO 8601 date-time)"]
    assert errs(validate_alert_event(with_payload(timestamp=text))) == expected
    assert errs(validate_change_event(change(payload={"summary": "s", "timestamp": text}))) == \
        expected


@pytest.mark.parametrize("value", [1437122578, 1.5, True, [], {}])
def test_timestamp_wrong_type(value: Any) -> None:
    assert errs(validate_alert_event(with_payload(timestamp=value))) == [
        "'payload.timestamp' is invalid (must be a string)"]


@pytest.mark.parametrize("value", [None, "", "   "])
def test_timestamp_absent_or_blank_is_none(value: Any) -> None:
    assert ok(validate_alert_event(with_payload(timestamp=value))).timestamp is None


# --- optional payload strings, custom_details, client ----------------------------------------

@pytest.mark.parametrize(("key", "attr"), [("component", "component"), ("group", "group"),
                                           ("class", "class_")])
def test_optional_payload_strings(key: Any, attr: str) -> None:
    assert getattr(ok(validate_alert_event(with_payload(**{key: "x y"}))), attr) == "x y"
    assert getattr(ok(validate_alert_event(with_payload(**{key: None}))), attr) is None
    assert getattr(ok(validate_alert_event(with_payload(**{key: "  "}))), attr) is None
    for value in WRONG_TYPES:
        assert errs(validate_alert_event(with_payload(**{key: value}))) == [
            f"'payload.{key}' is invalid (must be a string)"]


@pytest.mark.parametrize("details", [{"a": {"b": [1, None, True]}}, [1, 2], "text", 3, 2.5,
                                     False, None, {}, []])
def test_custom_details_any_json(details: Any) -> None:
    assert ok(validate_alert_event(with_payload(custom_details=details))).custom_details == details
    body = change(payload={"summary": "s", "custom_details": details})
    assert ok(validate_change_event(body)).custom_details == details


@pytest.mark.parametrize("field", ["client", "client_url"])
def test_client_fields(field: str) -> None:
    assert getattr(ok(validate_alert_event(trigger(**{field: "Mon ✓"}))), field) == "Mon ✓"
    assert getattr(ok(validate_alert_event(trigger(**{field: None}))), field) is None
    for value in WRONG_TYPES:
        assert errs(validate_alert_event(trigger(**{field: value}))) == [
            f"'{field}' is invalid (must be a string)"]


# --- links and images (alert and change events) ---------------------------------------------

@pytest.mark.parametrize(("make", "validate"), [(trigger, validate_alert_event),
                                               (change, validate_change_event)])
class TestLinksAndImages:
    def test_links_and_images_absent_or_null(self, make: Callable[..., dict[str, Any]], validate: Validate) -> None:
        event = ok(validate(make(links=None, images=None)))
        assert event.links == [] and event.images == []
        assert ok(validate(make(links=[], images=[]))).links == []

    @pytest.mark.parametrize("value", ["https://x", 1, True, {"href": "h"}])
    def test_not_a_list(self, make: Callable[..., dict[str, Any]], validate: Validate, value: Any) -> None:
        assert errs(validate(make(links=value))) == ["'links' is invalid (must be an array)"]
        assert errs(validate(make(images=value))) == ["'images' is invalid (must be an array)"]

    @pytest.mark.parametrize("value", ["https://x", 1, None, [], True])
    def test_item_not_an_object(self, make: Callable[..., dict[str, Any]], validate: Validate, value: Any) -> None:
        assert errs(validate(make(links=[{"href": "h"}, value]))) == [
            "'links[1]' is invalid (must be a JSON object)"]
        assert errs(validate(make(images=[value]))) == [
            "'images[0]' is invalid (must be a JSON object)"]

    def test_link_href_required(self, make: Callable[..., dict[str, Any]], validate: Validate) -> None:
        for item in ({}, {"text": "t"}, {"href": None}, {"href": " "}):
            assert errs(validate(make(links=[item]))) == ["'links[0].href' is missing or blank"]
        for value in WRONG_TYPES:
            assert errs(validate(make(links=[{"href": value}]))) == [
                "'links[0].href' is invalid (must be a string)"]

    def test_link_text_optional_string(self, make: Callable[..., dict[str, Any]], validate: Validate) -> None:
        assert ok(validate(make(links=[{"href": "h", "text": None}]))).links == [{"href": "h"}]
        for value in WRONG_TYPES:
            assert errs(validate(make(links=[{"href": "h", "text": value}]))) == [
                "'links[0].text' is invalid (must be a string)"]

    def test_image_src_required(self, make: Callable[..., dict[str, Any]], validate: Validate) -> None:
        for item in ({}, {"href": "h", "alt": "a"}, {"src": None}, {"src": ""}):
            assert errs(validate(make(images=[item]))) == ["'images[0].src' is missing or blank"]
        for value in WRONG_TYPES:
            assert errs(validate(make(images=[{"src": value}]))) == [
                "'images[0].src' is invalid (must be a string)"]

    @pytest.mark.parametrize("key", ["href", "alt"])
    def test_image_optional_strings(self, make: Callable[..., dict[str, Any]], validate: Validate, key: Any) -> None:
        event = ok(validate(make(images=[{"src": "s", key: "v"}, {"src": "t", key: None}])))
        assert event.images == [{"src": "s", key: "v"}, {"src": "t"}]
        for value in WRONG_TYPES:
            assert errs(validate(make(images=[{"src": "s", key: value}]))) == [
                f"'images[0].{key}' is invalid (must be a string)"]

    def test_every_bad_item_reported(self, make: Callable[..., dict[str, Any]], validate: Validate) -> None:
        assert errs(validate(make(links=[{"href": 1, "text": 2}, 3]))) == [
            "'links[0].href' is invalid (must be a string)",
            "'links[0].text' is invalid (must be a string)",
            "'links[1]' is invalid (must be a JSON object)",
        ]


# --- change events ----------------------------------------------------------------------------

def test_change_event_full() -> None:
    body = change(
        payload={"summary": "Deployed build 912", "source": "ci-runner-3",
                 "timestamp": "2024-03-01T12:00:00+01:00", "custom_details": {"build": 912},
                 "severity": "critical", "component": "ignored"},
        links=[{"href": "https://ci.example.net/912", "text": "Build"}],
        images=[{"src": "https://ci.example.net/912.png"}],
        event_action="trigger", dedup_key="ignored", client="ignored",
    )
    assert ok(validate_change_event(body)) == ParsedEvent(
        kind="change", routing_key=KEY, event_action=None, dedup_key=None,
        summary="Deployed build 912", source="ci-runner-3", severity=None,
        timestamp=datetime(2024, 3, 1, 11, 0, tzinfo=UTC), component=None, group=None,
        class_=None, custom_details={"build": 912}, client=None, client_url=None,
        links=[{"href": "https://ci.example.net/912", "text": "Build"}],
        images=[{"src": "https://ci.example.net/912.png"}], api_version="v2")


def test_change_event_minimal() -> None:
    event = ok(validate_change_event(change()))
    assert (event.source, event.timestamp, event.custom_details) == (None, None, None)


def test_change_event_payload_required() -> None:
    body = change()
    del body["payload"]
    assert errs(validate_change_event(body)) == ["'payload' is missing or blank"]
    not_objects: list[Any] = ["x", 1, [], True]
    for value in not_objects:
        assert errs(validate_change_event(change(payload=value))) == [
            "'payload' is invalid (must be a JSON object)"]


@pytest.mark.parametrize("value", [None, "", "  "])
def test_change_event_summary_required(value: Any) -> None:
    assert errs(validate_change_event(change(payload={"summary": value}))) == [
        "'payload.summary' is missing or blank"]
    assert errs(validate_change_event(change(payload={"source": "x"}))) == [
        "'payload.summary' is missing or blank"]


@pytest.mark.parametrize("value", WRONG_TYPES)
def test_change_event_wrong_types(value: Any) -> None:
    assert errs(validate_change_event(change(payload={"summary": value}))) == [
        "'payload.summary' is invalid (must be a string)"]
    assert errs(validate_change_event(change(payload={"summary": "s", "source": value}))) == [
        "'payload.source' is invalid (must be a string)"]


def test_change_event_collects_all_errors() -> None:
    body = {"routing_key": "", "payload": {"summary": 1, "timestamp": "x"}, "links": [1]}
    assert errs(validate_change_event(body)) == [
        "'routing_key' is missing or blank",
        "'payload.summary' is invalid (must be a string)",
        "'payload.timestamp' is invalid (must be an ISO 8601 date-time)",
        "'links[0]' is invalid (must be a JSON object)",
    ]


# --- v1 generic events ------------------------------------------------------------------------

def test_v1_full_trigger() -> None:
    body = v1(incident_key="srv01/HTTP", client="Monitor", client_url="https://mon.example.net",
              details={"ping": "1500ms"},
              contexts=[{"type": "link", "href": "https://a.example.net"},
                        {"type": "link", "href": "https://b.example.net", "text": "B"},
                        {"type": "image", "src": "https://img/1.png", "text": "ignored"},
                        {"type": "image", "src": "https://img/2.png", "href": "https://h",
                         "alt": "chart"}])
    assert ok(validate_v1_event(body)) == ParsedEvent(
        kind="alert", routing_key=KEY, event_action="trigger", dedup_key="srv01/HTTP",
        summary="Ping failed", source="Monitor", severity="error", timestamp=None,
        component=None, group=None, class_=None, custom_details={"ping": "1500ms"},
        client="Monitor", client_url="https://mon.example.net",
        links=[{"href": "https://a.example.net"}, {"href": "https://b.example.net", "text": "B"}],
        images=[{"src": "https://img/1.png"},
                {"src": "https://img/2.png", "href": "https://h", "alt": "chart"}],
        api_version="v1")


def test_v1_minimal_trigger_source_and_severity() -> None:
    event = ok(validate_v1_event(v1()))
    assert (event.source, event.severity, event.dedup_key) == ("unknown", "error", None)
    assert ok(validate_v1_event(v1(client="  "))).source == "unknown"


@pytest.mark.parametrize("event_type", ["acknowledge", "resolve"])
def test_v1_ack_resolve(event_type: str) -> None:
    body = {"service_key": KEY, "event_type": event_type, "incident_key": "srv01/HTTP",
            "description": "Ack'd by bot", "details": {"by": "bot"}, "contexts": "ignored",
            "client": 1}
    event = ok(validate_v1_event(body))
    assert (event.event_action, event.dedup_key, event.summary) == (
        event_type, "srv01/HTTP", "Ack'd by bot")
    assert (event.source, event.severity, event.client, event.links) == (None, None, None, [])
    assert event.custom_details == {"by": "bot"}
    del body["description"]
    assert ok(validate_v1_event(body)).summary is None
    for value in (None, "", " "):
        body["incident_key"] = value
        assert errs(validate_v1_event(body)) == ["Incident key is missing or blank"]


@pytest.mark.parametrize(("key", "expected"), [
    (KEY, []), (KEY[:31], [SK_LENGTH]), (KEY + "0", [SK_LENGTH]),
    ("x" * 31 + "-", [SK_ALNUM]), ("short!", [SK_LENGTH, SK_ALNUM]), ("ü" * 32, [SK_ALNUM]),
    (None, ["Service key is missing or blank"]), ("  ", ["Service key is missing or blank"]),
    (123, ["Service key is invalid (must be a string)"]),
    ([KEY], ["Service key is invalid (must be a string)"]),
])
def test_v1_service_key(key: Any, expected: Any) -> None:
    assert validate_v1_event(v1(service_key=key))[1] == expected


def test_v1_routing_key_is_not_a_service_key() -> None:
    body = v1()
    body["routing_key"] = body.pop("service_key")
    assert errs(validate_v1_event(body)) == ["Service key is missing or blank"]


@pytest.mark.parametrize(("value", "expected"), [
    (None, "Event type is missing or blank"), ("", "Event type is missing or blank"),
    ("Trigger", EVENT_TYPE_INVALID), ("ack", EVENT_TYPE_INVALID), (1, EVENT_TYPE_INVALID),
    ([], EVENT_TYPE_INVALID),
])
def test_v1_event_type(value: Any, expected: Any) -> None:
    assert errs(validate_v1_event(v1(event_type=value))) == [expected]


@pytest.mark.parametrize(("value", "expected"), [
    (None, "Description is missing or blank"), ("", "Description is missing or blank"),
    ("   ", "Description is missing or blank"), (5, "Description is invalid (must be a string)"),
    ({"a": 1}, "Description is invalid (must be a string)"),
    ("d" * 1025, "Description is too long (maximum is 1024 characters)"),
])
def test_v1_description(value: Any, expected: Any) -> None:
    assert errs(validate_v1_event(v1(description=value))) == [expected]
    assert ok(validate_v1_event(v1(description="d" * 1024))).summary == "d" * 1024


def test_v1_incident_key_rules() -> None:
    assert ok(validate_v1_event(v1(incident_key="k" * 255))).dedup_key == "k" * 255
    assert errs(validate_v1_event(v1(incident_key="k" * 256))) == [
        "Incident key is too long (maximum is 255 characters)"]
    assert errs(validate_v1_event(v1(incident_key=7))) == [
        "Incident key is invalid (must be a string)"]


@pytest.mark.parametrize("details", [{"a": [1]}, None, "text", 1, []])
def test_v1_details_passed_through(details: Any) -> None:
    assert ok(validate_v1_event(v1(details=details))).custom_details == details


@pytest.mark.parametrize(("field", "label"), [("client", "Client"), ("client_url", "Client URL")])
def test_v1_client_fields(field: str, label: str) -> None:
    assert getattr(ok(validate_v1_event(v1(**{field: "c"}))), field) == "c"
    for value in WRONG_TYPES:
        assert errs(validate_v1_event(v1(**{field: value}))) == [
            f"{label} is invalid (must be a string)"]


@pytest.mark.parametrize(("contexts", "expected"), [
    ("x", ["'contexts' is invalid (must be an array)"]),
    ([1], ["'contexts[0]' is invalid (must be a JSON object)"]),
    ([{}], ["'contexts[0].type' is missing or blank"]),
    ([{"type": "graph", "href": "h"}],
     ["'contexts[0].type' is invalid (must be one of the following: 'link' or 'image')"]),
    ([{"type": 3}],
     ["'contexts[0].type' is invalid (must be one of the following: 'link' or 'image')"]),
    ([{"type": "link"}], ["'contexts[0].href' is missing or blank"]),
    ([{"type": "link", "href": "h", "text": 1}],
     ["'contexts[0].text' is invalid (must be a string)"]),
    ([{"type": "image", "href": "h"}], ["'contexts[0].src' is missing or blank"]),
    ([{"type": "image", "src": "s", "alt": []}],
     ["'contexts[0].alt' is invalid (must be a string)"]),
])
def test_v1_contexts_errors(contexts: Any, expected: Any) -> None:
    assert errs(validate_v1_event(v1(contexts=contexts))) == expected


def test_v1_collects_all_errors() -> None:
    body = {"service_key": "abc", "event_type": "trigger", "incident_key": 1,
            "description": "", "client": 2, "contexts": [{"type": "link"}]}
    assert errs(validate_v1_event(body)) == [
        SK_LENGTH, "Incident key is invalid (must be a string)",
        "Description is missing or blank", "Client is invalid (must be a string)",
        "'contexts[0].href' is missing or blank",
    ]


# --- properties -------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
FIELD_NAMES = ["routing_key", "service_key", "event_action", "event_type", "dedup_key",
               "incident_key", "payload", "summary", "source", "severity", "timestamp",
               "component", "group", "class", "custom_details", "client", "client_url",
               "links", "images", "contexts", "description", "details", "href", "src", "text",
               "alt", "type"]
field_values = st.sampled_from([KEY, "trigger", "acknowledge", "resolve", "critical", "info",
                                "link", "image", "2015-07-17T08:42:58Z", ""]) | json_values
eventish = st.recursive(
    field_values,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=8),
    max_leaves=30,
)
VALIDATORS = [validate_alert_event, validate_change_event, validate_v1_event]


def _check_result(result: tuple[Any, Any]) -> None:  # the types themselves are checked
    event, errors = result
    assert isinstance(errors, list)
    if event is None:
        assert errors and all(isinstance(e, str) and e for e in errors)
    else:
        assert errors == [] and isinstance(event, ParsedEvent)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values | eventish)
def test_never_raises_on_any_json(value: Any) -> None:
    for validate in VALIDATORS:
        _check_result(validate(value))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.dictionaries(st.sampled_from(FIELD_NAMES), field_values, max_size=10),
       top=st.dictionaries(st.sampled_from(FIELD_NAMES), field_values, max_size=8))
def test_never_raises_on_near_valid_events(payload: Any, top: Any) -> None:
    for base in (trigger(), change(), v1(), {"routing_key": KEY, "event_action": "resolve"}):
        body = {**base, **top}
        if isinstance(body.get("payload"), dict):
            body["payload"] = {**body["payload"], **payload}
        for validate in VALIDATORS:
            _check_result(validate(body))


def _opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


texts = st.text(max_size=40)
optional_json = st.none() | json_values
link_items = st.lists(st.fixed_dictionaries({"href": texts}, optional={"text": _opt(texts)}),
                      max_size=3)
image_items = st.lists(st.fixed_dictionaries(
    {"src": texts}, optional={"href": _opt(texts), "alt": _opt(texts)}), max_size=3)
aware = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                                timezone(timedelta(hours=-8))]))


def _kept(value: Any) -> str | None:
    """What an optional string becomes: absent, null and blank all mean None."""
    return value if isinstance(value, str) and value.strip() else None


@settings(max_examples=300)
@given(action=st.sampled_from(["trigger", "acknowledge", "resolve"]),
       dedup=_opt(st.text(max_size=300)), summary=st.text(max_size=1100),
       source=texts, severity=st.sampled_from(["critical", "error", "warning", "info"]),
       when=_opt(aware), component=_opt(texts), group=_opt(texts), klass=_opt(texts),
       details=optional_json, client=_opt(texts), client_url=_opt(texts),
       links=link_items, images=image_items)
def test_accepted_alert_events_round_trip(action: str, dedup: Any, summary: Any, source: Any, severity: str, when: Any,
                                          component: Any, group: Any, klass: Any, details: Any, client: Any,
                                          client_url: Any, links: Any, images: Any) -> None:
    payload = {"summary": summary, "source": source, "severity": severity,
               "timestamp": when.isoformat() if when else None, "component": component,
               "group": group, "class": klass, "custom_details": details}
    body = {"routing_key": KEY, "event_action": action, "dedup_key": dedup, "payload": payload,
            "client": client, "client_url": client_url, "links": links, "images": images}
    event, errors = validate_alert_event(body)
    if event is None:
        assert errors
        return
    assert (event.kind, event.api_version, event.routing_key, event.event_action) == (
        "alert", "v2", KEY, action)
    assert event.dedup_key == _kept(dedup)
    assert event.dedup_key is None or len(event.dedup_key) <= 255
    if action != "trigger":
        assert event.dedup_key is not None and event.summary is None and event.links == []
        return
    assert event.summary == summary and summary.strip() and len(summary) <= 1024
    assert (event.source, event.severity) == (source, severity)
    assert event.timestamp == when and (when is None or event.timestamp.tzinfo is UTC)
    assert (event.component, event.group, event.class_) == tuple(
        _kept(v) for v in (component, group, klass))
    assert event.custom_details == details
    assert (event.client, event.client_url) == (_kept(client), _kept(client_url))
    assert event.links == [{k: v for k, v in link.items() if _kept(v) is not None}
                           for link in links]
    assert event.images == [{k: v for k, v in image.items() if _kept(v) is not None}
                            for image in images]


@settings(max_examples=200)
@given(summary=st.text(max_size=1100), source=_opt(texts), when=_opt(aware),
       details=optional_json, links=link_items, images=image_items)
def test_accepted_change_events_round_trip(
    summary: Any, source: Any, when: Any, details: Any, links: Any, images: Any,
) -> None:
    body = {"routing_key": KEY, "links": links, "images": images,
            "payload": {"summary": summary, "source": source, "custom_details": details,
                        "timestamp": when.isoformat() if when else None}}
    event, errors = validate_change_event(body)
    if event is None:
        assert errors
        return
    assert (event.kind, event.event_action, event.dedup_key, event.severity) == (
        "change", None, None, None)
    assert event.summary == summary and len(summary) <= 1024
    assert event.source == _kept(source) and event.timestamp == when
    assert event.custom_details == details
    assert event.links == [{k: v for k, v in link.items() if _kept(v) is not None}
                           for link in links]
    assert len(event.images) == len(images)


@settings(max_examples=200)
@given(event_type=st.sampled_from(["trigger", "acknowledge", "resolve"]),
       incident_key=_opt(st.text(max_size=300)), description=_opt(st.text(max_size=1100)),
       details=optional_json, client=_opt(texts))
def test_accepted_v1_events_round_trip(
    event_type: str, incident_key: Any, description: Any, details: Any, client: Any,
) -> None:
    body = {"service_key": KEY, "event_type": event_type, "incident_key": incident_key,
            "description": description, "details": details, "client": client}
    event, errors = validate_v1_event(body)
    if event is None:
        assert errors
        return
    assert (event.kind, event.api_version, event.routing_key, event.event_action) == (
        "alert", "v1", KEY, event_type)
    assert event.dedup_key == _kept(incident_key)
    assert event.summary == _kept(description)
    assert event.custom_details == details
    if event_type == "trigger":
        assert event.summary is not None
        assert event.severity == "error" and event.source == (_kept(client) or "unknown")
    else:
        assert event.dedup_key is not None and event.severity is None
