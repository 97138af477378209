"""Validation and normalisation of Events API bodies (v2 alert events, v2 change events, v1
generic events). Pure and I/O-free: every function takes the already-parsed JSON value and
returns ``(event, [])`` or ``(None, errors)``. Nothing here raises on any JSON value.

Error strings follow the wording PagerDuty's Events API is seen to return, so that clients
logging or matching them see familiar text. Where PagerDuty's exact wording is unknown the
string follows the same pattern: the field in quotes, then the rule that failed.

Choices made where PagerDuty's behaviour is not pinned down:

* JSON ``null`` for an optional field means "absent"; a whitespace-only optional string is
  treated as absent too (``None``). A trigger's blank ``dedup_key`` is therefore ``None`` and
  the caller generates one.
* Required strings are kept exactly as given (not stripped); lengths count code points.
* ``custom_details`` / v1 ``details`` may be any JSON value nested at most
  ``MAX_NESTING_DEPTH`` (100) levels deep, and are passed through untouched. Deeper values are
  refused: they could never be stored and answered (the JSON encoders stop near 250 levels).
* For acknowledge/resolve the payload and the trigger-only fields (``client``,
  ``client_url``, ``links``, ``images``; v1 ``contexts``) are ignored, not validated.
* ``payload.timestamp`` is ISO 8601 (``Z``, ``+hh:mm``, ``+hhmm`` or no offset, which means
  UTC). An offset followed by a stray ``Z`` (``...+00:00Z``, produced by a known client's
  ``isoformat() + "Z"``) is accepted. A blank timestamp counts as absent.
* v1 has no severity or source: a v1 trigger gets severity ``'error'`` and its source is its
  ``client`` (when given) or ``'unknown'``; v1 acknowledge/resolve get ``None`` for both, the
  same as v2 acknowledge/resolve.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from tocsin.jsondepth import MAX_NESTING_DEPTH, nests_deeper_than

MAX_BODY_BYTES = 512 * 1024
KEY_LENGTH = 32
MAX_DEDUP_KEY_LENGTH = 255
MAX_SUMMARY_LENGTH = 1024
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "warning", "error", "info")  # PagerDuty's order in its message
Severity = Literal["critical", "error", "warning", "info"]
V1_SEVERITY: Severity = "error"
V1_DEFAULT_SOURCE = "unknown"

NOT_AN_OBJECT = "Event object is invalid (must be a JSON object)"

_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]*")
_STRAY_Z_AFTER_OFFSET = re.compile(r"([+-]\d{2}:?\d{2})Z\Z")


@dataclass(slots=True)
class ParsedEvent:
    kind: Literal["alert", "change"]
    routing_key: str
    event_action: Literal["trigger", "acknowledge", "resolve"] | None
    dedup_key: str | None
    summary: str | None
    source: str | None
    severity: Severity | None
    timestamp: datetime | None
    component: str | None
    group: str | None
    class_: str | None
    custom_details: Any
    client: str | None
    client_url: str | None
    links: list[dict[str, Any]]
    images: list[dict[str, Any]]
    api_version: Literal["v1", "v2"]


# --- messages -------------------------------------------------------------------------------

def _missing(name: str) -> str:
    return f"{name} is missing or blank"


def _not_string(name: str) -> str:
    return f"{name} is invalid (must be a string)"


def _not_object(name: str) -> str:
    return f"{name} is invalid (must be a JSON object)"


def _too_long(name: str, limit: int) -> str:
    return f"{name} is too long (maximum is {limit} characters)"


def _not_one_of(name: str, allowed: tuple[str, ...]) -> str:
    quoted = [f"'{a}'" for a in allowed]
    listed = f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"{name} is invalid (must be one of the following: {listed})"


def _bad_timestamp(name: str) -> str:
    return f"{name} is invalid (must be an ISO 8601 date-time)"


# --- field readers: each appends its errors and returns the normalised value (or None) ------

def _is_blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _required_str(
    obj: dict[str, Any], key: str, name: str, errors: list[str], max_len: int | None = None
) -> str | None:
    value = obj.get(key)
    if value is None or _is_blank(value):
        errors.append(_missing(name))
    elif not isinstance(value, str):
        errors.append(_not_string(name))
    elif max_len is not None and len(value) > max_len:
        errors.append(_too_long(name, max_len))
    else:
        return value
    return None


def _optional_str(
    obj: dict[str, Any], key: str, name: str, errors: list[str], max_len: int | None = None
) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(_not_string(name))
        return None
    if max_len is not None and len(value) > max_len:
        errors.append(_too_long(name, max_len))
        return None
    return value if value.strip() else None


def _choice(obj: dict[str, Any], key: str, name: str, allowed: tuple[str, ...], errors: list[str]) -> Any:
    value = obj.get(key)
    if value is None or _is_blank(value):
        errors.append(_missing(name))
    elif not isinstance(value, str) or value not in allowed:
        errors.append(_not_one_of(name, allowed))
    else:
        return value
    return None


def _integration_key(
    obj: dict[str, Any], key: str, name: str, length_message: str, errors: list[str]
) -> str | None:
    value = obj.get(key)
    if value is None or _is_blank(value):
        errors.append(_missing(name))
        return None
    if not isinstance(value, str):
        errors.append(_not_string(name))
        return None
    ok = True
    if len(value) != KEY_LENGTH:
        errors.append(length_message)
        ok = False
    if not _ASCII_ALNUM.fullmatch(value):
        errors.append(f"{name} cannot contain non-alphanumeric characters.")
        ok = False
    return value if ok else None


def _timestamp(obj: dict[str, Any], key: str, name: str, errors: list[str]) -> datetime | None:
    value = obj.get(key)
    if value is None or _is_blank(value):
        return None
    if not isinstance(value, str):
        errors.append(_not_string(name))
        return None
    text = _STRAY_Z_AFTER_OFFSET.sub(r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        errors.append(_bad_timestamp(name))
        return None


def _object_items(value: Any, name: str, errors: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The entries of an optional array of objects, each with its path; lazily, so that
    errors come out in index order."""
    if value is None:
        return
    if not isinstance(value, list):
        errors.append(f"'{name}' is invalid (must be an array)")
        return
    for i, item in enumerate(value):
        if isinstance(item, dict):
            yield f"{name}[{i}]", item
        else:
            errors.append(_not_object(f"'{name}[{i}]'"))


def _link(item: dict[str, Any], path: str, errors: list[str]) -> dict[str, Any] | None:
    href = _required_str(item, "href", f"'{path}.href'", errors)
    text = _optional_str(item, "text", f"'{path}.text'", errors)
    if href is None:
        return None
    return {"href": href} if text is None else {"href": href, "text": text}


def _image(item: dict[str, Any], path: str, errors: list[str]) -> dict[str, Any] | None:
    src = _required_str(item, "src", f"'{path}.src'", errors)
    image = {"src": src}
    for key in ("href", "alt"):
        value = _optional_str(item, key, f"'{path}.{key}'", errors)
        if value is not None:
            image[key] = value
    return image if src is not None else None


def _links_and_images(obj: dict[str, Any], errors: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    links = [_link(i, p, errors) for p, i in _object_items(obj.get("links"), "links", errors)]
    images = [_image(i, p, errors) for p, i in _object_items(obj.get("images"), "images", errors)]
    return [x for x in links if x is not None], [x for x in images if x is not None]


# A bound on the whole body (orjson parses up to 1,024 levels), checked before anything walks it
# recursively (NUL stripping recurses once per level, and Python stops near 1,000); its
# free-form parts have their own, lower limit and their own message.
MAX_BODY_DEPTH = 512


def body_depth_errors(obj: Any) -> list[str]:
    """The error for a body nested deeper than ``MAX_BODY_DEPTH`` (checked before anything
    walks the body recursively), or none."""
    if nests_deeper_than(obj, MAX_BODY_DEPTH):
        return [f"Event object is nested too deeply (at most {MAX_BODY_DEPTH} levels)"]
    return []


def _free_json(obj: dict[str, Any], key: str, name: str, errors: list[str]) -> Any:
    """A free-form value (``custom_details``), refused when nested deeper than we can store."""
    value = obj.get(key)
    if nests_deeper_than(value, MAX_NESTING_DEPTH):
        errors.append(f"{name} is nested too deeply (at most {MAX_NESTING_DEPTH} levels)")
        return None
    return value


def _payload(obj: dict[str, Any], errors: list[str]) -> dict[str, Any] | None:
    payload = obj.get("payload")
    if payload is None:
        errors.append(_missing("'payload'"))
        return None
    if not isinstance(payload, dict):
        errors.append(_not_object("'payload'"))
        return None
    return payload


# --- validators -----------------------------------------------------------------------------

def validate_alert_event(obj: Any) -> tuple[ParsedEvent | None, list[str]]:
    """A v2 alert event (``POST /v2/enqueue``)."""
    if not isinstance(obj, dict):
        return None, [NOT_AN_OBJECT]
    errors: list[str] = []
    routing_key = _integration_key(
        obj, "routing_key", "'routing_key'",
        "Length of 'routing_key' is incorrect (should be 32 characters)", errors,
    )
    action = _choice(obj, "event_action", "'event_action'", EVENT_ACTIONS, errors)
    dedup_reader = _optional_str if action in (None, "trigger") else _required_str
    dedup_key = dedup_reader(obj, "dedup_key", "'dedup_key'", errors, MAX_DEDUP_KEY_LENGTH)

    fields: dict[str, Any] = {
        "summary": None, "source": None, "severity": None, "timestamp": None, "component": None, "group": None,
        "class_": None, "custom_details": None, "client": None, "client_url": None, "links": [], "images": [],
    }
    if action == "trigger":
        payload = _payload(obj, errors)
        if payload is not None:
            fields.update(
                summary=_required_str(
                    payload, "summary", "'payload.summary'", errors, MAX_SUMMARY_LENGTH
                ),
                source=_required_str(payload, "source", "'payload.source'", errors),
                severity=_choice(payload, "severity", "'payload.severity'", SEVERITIES, errors),
                timestamp=_timestamp(payload, "timestamp", "'payload.timestamp'", errors),
                component=_optional_str(payload, "component", "'payload.component'", errors),
                group=_optional_str(payload, "group", "'payload.group'", errors),
                class_=_optional_str(payload, "class", "'payload.class'", errors),
                custom_details=_free_json(payload, "custom_details", "'payload.custom_details'", errors),
            )
        links, images = _links_and_images(obj, errors)
        fields.update(
            client=_optional_str(obj, "client", "'client'", errors),
            client_url=_optional_str(obj, "client_url", "'client_url'", errors),
            links=links, images=images,
        )
    if errors:
        return None, errors
    assert routing_key is not None and action is not None
    return ParsedEvent(
        kind="alert", routing_key=routing_key, event_action=action, dedup_key=dedup_key,
        api_version="v2", **fields,
    ), []


def validate_change_event(obj: Any) -> tuple[ParsedEvent | None, list[str]]:
    """A v2 change event (``POST /v2/change/enqueue``). ``event_action`` and alert-only fields
    are ignored; ``images`` is accepted like on alert events."""
    if not isinstance(obj, dict):
        return None, [NOT_AN_OBJECT]
    errors: list[str] = []
    routing_key = _integration_key(
        obj, "routing_key", "'routing_key'",
        "Length of 'routing_key' is incorrect (should be 32 characters)", errors,
    )
    summary = source = timestamp = custom_details = None
    payload = _payload(obj, errors)
    if payload is not None:
        summary = _required_str(
            payload, "summary", "'payload.summary'", errors, MAX_SUMMARY_LENGTH
        )
        source = _optional_str(payload, "source", "'payload.source'", errors)
        timestamp = _timestamp(payload, "timestamp", "'payload.timestamp'", errors)
        custom_details = _free_json(payload, "custom_details", "'payload.custom_details'", errors)
    links, images = _links_and_images(obj, errors)
    if errors:
        return None, errors
    assert routing_key is not None
    return ParsedEvent(
        kind="change", routing_key=routing_key, event_action=None, dedup_key=None,
        summary=summary, source=source, severity=None, timestamp=timestamp, component=None,
        group=None, class_=None, custom_details=custom_details, client=None, client_url=None,
        links=links, images=images, api_version="v2",
    ), []


def _contexts(value: Any, errors: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    links: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    for path, item in _object_items(value, "contexts", errors):
        kind = item.get("type")
        if kind == "link":
            link = _link(item, path, errors)
            if link is not None:
                links.append(link)
        elif kind == "image":
            image = _image(item, path, errors)
            if image is not None:
                images.append(image)
        elif kind is None or _is_blank(kind):
            errors.append(_missing(f"'{path}.type'"))
        else:
            errors.append(_not_one_of(f"'{path}.type'", ("link", "image")))
    return links, images


def validate_v1_event(obj: Any) -> tuple[ParsedEvent | None, list[str]]:
    """A v1 generic event (``POST /generic/2010-04-15/create_event.json``). Top-level field
    names in messages use v1's own wording ("Service key", "Description", ...)."""
    if not isinstance(obj, dict):
        return None, [NOT_AN_OBJECT]
    errors: list[str] = []
    service_key = _integration_key(
        obj, "service_key", "Service key",
        "Service key is the wrong length (should be 32 characters)", errors,
    )
    event_type = _choice(obj, "event_type", "Event type", EVENT_ACTIONS, errors)
    is_trigger = event_type in (None, "trigger")
    key_reader = _optional_str if is_trigger else _required_str
    incident_key = key_reader(obj, "incident_key", "Incident key", errors, MAX_DEDUP_KEY_LENGTH)
    description_reader = _required_str if event_type == "trigger" else _optional_str
    description = description_reader(obj, "description", "Description", errors, MAX_SUMMARY_LENGTH)

    client = client_url = source = None
    severity: Severity | None = None
    details = _free_json(obj, "details", "Details", errors)
    links: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    if event_type == "trigger":
        client = _optional_str(obj, "client", "Client", errors)
        client_url = _optional_str(obj, "client_url", "Client URL", errors)
        links, images = _contexts(obj.get("contexts"), errors)
        source = client if client is not None else V1_DEFAULT_SOURCE
        severity = V1_SEVERITY
    if errors:
        return None, errors
    assert service_key is not None and event_type is not None
    return ParsedEvent(
        kind="alert", routing_key=service_key, event_action=event_type, dedup_key=incident_key,
        summary=description, source=source, severity=severity, timestamp=None, component=None,
        group=None, class_=None, custom_details=details, client=client,
        client_url=client_url, links=links, images=images, api_version="v1",
    ), []
