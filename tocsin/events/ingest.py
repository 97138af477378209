"""The Events API hot path, as a bare ASGI app.

It sits in front of FastAPI (see ``tocsin.api.app``) because the web layer, not storage, limits
ingest: reading the raw body, parsing it with orjson and validating it with plain functions
costs a fraction of FastAPI's body machinery. The answer is sent only after the event is
committed to the inbox by the group commit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

import orjson

from tocsin.events.directory import IntegrationDirectory
from tocsin.events.inbox import GroupCommitter
from tocsin.events.ratelimit import SlidingWindowLimiter
from tocsin.events.validation import (
    MAX_BODY_BYTES,
    ParsedEvent,
    body_depth_errors,
    validate_alert_event,
    validate_change_event,
    validate_v1_event,
)

# ASGI's shapes, as starlette.types spells them.
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Validator = Callable[[Any], tuple[ParsedEvent | None, list[str]]]

V2_PATH = "/v2/enqueue"
CHANGE_PATH = "/v2/change/enqueue"
V1_PATH = "/generic/2010-04-15/create_event.json"
PATHS = frozenset({V2_PATH, CHANGE_PATH, V1_PATH})

_JSON_TYPES = ("application/json", "text/plain", "application/x-www-form-urlencoded")


class BodyTooLarge(Exception):
    pass


def _invalid(errors: list[str]) -> tuple[int, dict[str, Any]]:
    return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}


def _unrecognized(error: str) -> tuple[int, dict[str, Any]]:
    return 400, {
        "status": "Unrecognized object",
        "message": "Event object format is unrecognized",
        "errors": [error],
    }


_THROTTLED = {
    "status": "throttle event",
    "message": "Requests for this service are arriving too quickly.  Please retry later.",
    "errors": ["Too many requests"],
}


def _content_type_ok(scope: Scope) -> bool:
    """JSON, or the types curl and old scripts send with a JSON body; never multipart or XML."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media in _JSON_TYPES or media.endswith("+json")
    return True


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    """Read at most MAX_BODY_BYTES; refuse by Content-Length first, then while streaming."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY_BYTES:
            raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Send, status: int, body: dict[str, Any], extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    payload = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def strip_nul(value: Any) -> Any:
    """Drop NUL characters, which PostgreSQL text and JSONB cannot store: an event that is
    valid JSON must not become an error the client would retry for ever."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [strip_nul(v) for v in value]
    if isinstance(value, dict):
        return {strip_nul(k): strip_nul(v) for k, v in value.items()}
    return value


_EVENT_FIELDS = [f.name for f in fields(ParsedEvent)]


def inbox_row(event: ParsedEvent, integration_id: str, received_at: datetime) -> dict[str, Any]:
    # A shallow dict, not dataclasses.asdict: asdict deep-copies custom_details on the hot path.
    data = {name: getattr(event, name) for name in _EVENT_FIELDS}
    data["timestamp"] = event.timestamp.isoformat() if event.timestamp else None
    return {"integration_id": integration_id, "received_at": received_at, "event": data}


class EventsEndpoint:
    def __init__(
        self,
        directory: IntegrationDirectory,
        committer: GroupCommitter,
        limiter: SlidingWindowLimiter,
        now: Callable[[], datetime],
    ) -> None:
        self.directory = directory
        self.committer = committer
        self.limiter = limiter
        # The runtime clock, read through a callable on each event (tests swap the clock after
        # the app is built): it stamps when the event was received.
        self._now = now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if scope["method"] != "POST":
            await _respond(send, 405, {"status": "error", "message": "Method Not Allowed", "errors": ["Use POST"]},
                           [(b"allow", b"POST")])
            return
        validator, is_v1 = _VALIDATORS[path]
        status, body = await self._handle(scope, receive, validator, is_v1)
        await _respond(send, status, body)

    async def _handle(
        self, scope: Scope, receive: Receive, validator: Validator, is_v1: bool
    ) -> tuple[int, dict[str, Any]]:
        try:
            raw = await _read_body(scope, receive)
        except BodyTooLarge:
            return 413, {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": [f"Request body exceeds the {MAX_BODY_BYTES // 1024} KB limit"],
            }
        if not _content_type_ok(scope):
            return _unrecognized("Content-Type must be application/json")
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _unrecognized("JSON parse error")
        if depth_errors := body_depth_errors(obj):  # before strip_nul, which recurses
            return _invalid(depth_errors)
        if b"\\u0000" in raw:
            obj = strip_nul(obj)
        event, errors = validator(obj)
        if event is None:
            return _invalid(errors)
        if not self.limiter.allow(event.routing_key, time.monotonic()):
            return (403 if is_v1 else 429), _THROTTLED
        try:
            route = await self.directory.resolve(event.routing_key)
        except Exception:  # noqa: BLE001 - the database did not answer: retryable, as below
            return 503, _UNAVAILABLE
        if route is None:
            return _invalid(["Invalid routing key"])
        if event.kind == "alert" and event.dedup_key is None:
            event.dedup_key = uuid.uuid4().hex
        try:
            await self.committer.submit(inbox_row(event, route.integration_id, self._now()))
        except Exception:  # noqa: BLE001 - any failure to store is answered with a 503
            # Not stored: say so with a retryable status; clients and monitoring tools retry 5xx.
            return 503, _UNAVAILABLE
        if event.kind == "change":
            return 202, {"status": "success", "message": "Change event processed"}
        if is_v1:
            return 200, {"status": "success", "message": "Event processed", "incident_key": event.dedup_key}
        return 202, {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key}


_UNAVAILABLE = {"status": "error", "message": "Event could not be stored; retry later",
                "errors": ["Storage unavailable"]}

_VALIDATORS: dict[str, tuple[Validator, bool]] = {
    V2_PATH: (validate_alert_event, False),
    CHANGE_PATH: (validate_change_event, False),
    V1_PATH: (validate_v1_event, True),
}
