"""What every Events API validator shares: the parsed event, the limits, the error wording and
the field readers. Pure: each reader takes a parsed JSON object, appends what is wrong with the
field to ``errors`` and returns the normalised value (or None). Nothing here raises on any JSON
value. The wording and the choices are explained in ``tocsin.events.validation``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from tocsin.jsondepth import MAX_NESTING_DEPTH, nests_deeper_than

KEY_LENGTH = 32
MAX_DEDUP_KEY_LENGTH = 255
MAX_SUMMARY_LENGTH = 1024
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "warning", "error", "info")  # PagerDuty's order in its message
Severity = Literal["critical", "error", "warning", "info"]

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

def missing(name: str) -> str:
    return f"{name} is missing or blank"


def not_string(name: str) -> str:
    return f"{name} is invalid (must be a string)"


def not_object(name: str) -> str:
    return f"{name} is invalid (must be a JSON object)"


def too_long(name: str, limit: int) -> str:
    return f"{name} is too long (maximum is {limit} characters)"


def not_one_of(name: str, allowed: tuple[str, ...]) -> str:
    quoted = [f"'{a}'" for a in allowed]
    listed = f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"{name} is invalid (must be one of the following: {listed})"


def bad_timestamp(name: str) -> str:
    return f"{name} is invalid (must be an ISO 8601 date-time)"


# --- field readers: each appends its errors and returns the normalised value (or None) ------

def is_blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def required_str(
    obj: dict[str, Any], key: str, name: str, errors: list[str], max_len: int | None = None
) -> str | None:
    value = obj.get(key)
    if value is None or is_blank(value):
        errors.append(missing(name))
    elif not isinstance(value, str):
        errors.append(not_string(name))
    elif max_len is not None and len(value) > max_len:
        errors.append(too_long(name, max_len))
    else:
        return value
    return None


def optional_str(
    obj: dict[str, Any], key: str, name: str, errors: list[str], max_len: int | None = None
) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(not_string(name))
        return None
    if max_len is not None and len(value) > max_len:
        errors.append(too_long(name, max_len))
        return None
    return value if value.strip() else None


def choice(obj: dict[str, Any], key: str, name: str, allowed: tuple[str, ...], errors: list[str]) -> Any:
    value = obj.get(key)
    if value is None or is_blank(value):
        errors.append(missing(name))
    elif not isinstance(value, str) or value not in allowed:
        errors.append(not_one_of(name, allowed))
    else:
        return value
    return None


def integration_key(
    obj: dict[str, Any], key: str, name: str, length_message: str, errors: list[str]
) -> str | None:
    value = obj.get(key)
    if value is None or is_blank(value):
        errors.append(missing(name))
        return None
    if not isinstance(value, str):
        errors.append(not_string(name))
        return None
    ok = True
    if len(value) != KEY_LENGTH:
        errors.append(length_message)
        ok = False
    if not _ASCII_ALNUM.fullmatch(value):
        errors.append(f"{name} cannot contain non-alphanumeric characters.")
        ok = False
    return value if ok else None


def read_timestamp(obj: dict[str, Any], key: str, name: str, errors: list[str]) -> datetime | None:
    value = obj.get(key)
    if value is None or is_blank(value):
        return None
    if not isinstance(value, str):
        errors.append(not_string(name))
        return None
    text = _STRAY_Z_AFTER_OFFSET.sub(r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        errors.append(bad_timestamp(name))
        return None


def object_items(value: Any, name: str, errors: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
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
            errors.append(not_object(f"'{name}[{i}]'"))


def read_link(item: dict[str, Any], path: str, errors: list[str]) -> dict[str, Any] | None:
    href = required_str(item, "href", f"'{path}.href'", errors)
    text = optional_str(item, "text", f"'{path}.text'", errors)
    if href is None:
        return None
    return {"href": href} if text is None else {"href": href, "text": text}


def read_image(item: dict[str, Any], path: str, errors: list[str]) -> dict[str, Any] | None:
    src = required_str(item, "src", f"'{path}.src'", errors)
    image = {"src": src}
    for key in ("href", "alt"):
        value = optional_str(item, key, f"'{path}.{key}'", errors)
        if value is not None:
            image[key] = value
    return image if src is not None else None


def links_and_images(obj: dict[str, Any], errors: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    links = [read_link(i, p, errors) for p, i in object_items(obj.get("links"), "links", errors)]
    images = [read_image(i, p, errors) for p, i in object_items(obj.get("images"), "images", errors)]
    return [x for x in links if x is not None], [x for x in images if x is not None]


def free_json(obj: dict[str, Any], key: str, name: str, errors: list[str]) -> Any:
    """A free-form value (``custom_details``), refused when nested deeper than we can store."""
    value = obj.get(key)
    if nests_deeper_than(value, MAX_NESTING_DEPTH):
        errors.append(f"{name} is nested too deeply (at most {MAX_NESTING_DEPTH} levels)")
        return None
    return value


def read_payload(obj: dict[str, Any], errors: list[str]) -> dict[str, Any] | None:
    payload = obj.get("payload")
    if payload is None:
        errors.append(missing("'payload'"))
        return None
    if not isinstance(payload, dict):
        errors.append(not_object("'payload'"))
        return None
    return payload
