"""The event inspector: every Events API request and every REST write, with what Tocsin answered.

An ASGI layer in front of the app (only in ``tocsin dev`` and the test double) that copies the
request body as the app reads it and the answer as the app sends it, so the request itself takes
the real path unchanged. Each record keeps the validation result a developer needs when an
integration "does nothing": the status, Tocsin's message and every broken rule it reported
(``errors`` of an Events API 400, ``error.errors`` of a REST 4xx).

Secrets are masked before anything is kept: the Authorization header and routing keys keep their
last four characters, so a wrong key can still be told apart. Bodies are kept up to
``BODY_LIMIT`` bytes, and the log keeps the latest ``LOG_LIMIT`` records.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tocsin.events.ingest import PATHS as EVENT_PATHS

BODY_LIMIT = 64 * 1024
LOG_LIMIT = 1000
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Body fields holding credentials: routing keys (v2, v1) and the secrets of credential routes.
SECRET_FIELDS = frozenset({"routing_key", "service_key", "token", "secret", "client_secret", "access_token",
                           "password", "auth_token"})


def mask(value: str) -> str:
    """Enough of a secret to tell two apart, never enough to use it."""
    return f"…{value[-4:]}" if len(value) > 8 else "…"


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: mask(v) if k in SECRET_FIELDS and isinstance(v, str) else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        if key == "authorization":
            scheme, _, credential = text.partition(" ")
            text = f"{scheme} {mask(credential)}" if credential else mask(text)
        found[key] = text
    return found


def _content(body: bytes, truncated: bool, content_type: str = "") -> Any:
    """A body as JSON (secrets masked) when it is JSON, a form's fields (masked too: ``POST
    /oauth/token`` sends a client secret) when it is a form, else as text."""
    if truncated:
        return f"({len(body)}+ bytes, not kept)"
    if not body:
        return None
    try:
        return _masked(json.loads(body))
    except ValueError:
        text = body.decode("utf-8", errors="replace")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return _masked(dict(parse_qsl(text, keep_blank_values=True)))
    return text


def _outcome(status: int, answer: Any) -> tuple[str | None, list[str]]:
    """Tocsin's message and the rules it reported broken, from either API's error shape."""
    if not isinstance(answer, dict):
        return None, []
    error = answer.get("error")
    if isinstance(error, dict):  # REST: {"error": {"message", "code", "errors"}}
        return error.get("message"), [str(e) for e in error.get("errors") or []]
    message = answer.get("message")  # Events API: {"status", "message", "errors"}
    return (str(message) if message is not None else None), [str(e) for e in answer.get("errors") or []]


@dataclass(frozen=True)
class ReceivedRequest:
    """One request and Tocsin's answer."""

    seq: int
    kind: str  # "events" | "rest"
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    status: int
    message: str | None
    errors: list[str]
    answer: Any
    received_at: datetime  # wall clock
    tocsin_time: datetime  # Tocsin's clock (moved on by the tests or /dev/clock)
    duration_ms: float
    dedup_key: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status < 400

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "kind": self.kind, "method": self.method, "path": self.path, "query": self.query,
            "accepted": self.accepted, "status": self.status, "message": self.message, "errors": self.errors,
            "dedup_key": self.dedup_key, "headers": self.headers, "body": self.body, "answer": self.answer,
            "received_at": self.received_at.isoformat(), "tocsin_time": self.tocsin_time.isoformat(),
            "duration_ms": round(self.duration_ms, 3),
        }

    def summary(self) -> str:
        """One line: what came in and what Tocsin made of it."""
        why = "; ".join(self.errors) or self.message or ""
        return f"{self.method} {self.path} -> {self.status}" + (f" ({why})" if why else "")


class RequestLog:
    """The latest requests, oldest first. Written on the server's loop, read from any thread."""

    def __init__(self, limit: int = LOG_LIMIT) -> None:
        self._lock = threading.Lock()
        self._records: deque[ReceivedRequest] = deque(maxlen=limit)
        self._seq = 0

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def add(self, record: ReceivedRequest) -> None:
        with self._lock:
            self._records.append(record)

    def records(self, kinds: Collection[str] = ("events", "rest")) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self._records if r.kind in kinds]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


def kind_of(scope: Scope) -> str | None:
    """"events" for the Events API, "rest" for a REST write, None for what is not inspected."""
    if scope["type"] != "http":
        return None
    if scope["path"] in EVENT_PATHS:
        return "events"
    return "rest" if scope["method"] in WRITE_METHODS else None


@dataclass
class _Exchange:
    body: bytearray = field(default_factory=bytearray)
    body_truncated: bool = False
    status: int = 0
    answer: bytearray = field(default_factory=bytearray)
    answer_truncated: bool = False
    recorded: bool = False


class Inspector:
    """The ASGI layer: passes every request to ``app`` and records the inspected ones in ``log``."""

    def __init__(self, app: ASGIApp, log: RequestLog, now: Callable[[], datetime]) -> None:
        self.app, self.log, self._now = app, log, now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = kind_of(scope)
        if kind is None:
            await self.app(scope, receive, send)
            return
        seq, received_at, tocsin_time = self.log.next_seq(), datetime.now(UTC), self._now()
        started = time.perf_counter()
        seen = _Exchange()

        def keep_record() -> None:
            if not seen.recorded:
                seen.recorded = True
                self.log.add(_record(seq, kind, scope, seen, received_at, tocsin_time,
                                     time.perf_counter() - started))

        async def tee_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                _keep(seen, "body", message.get("body", b""))
            return message

        async def tee_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.status = message["status"]
            elif message["type"] == "http.response.body":
                _keep(seen, "answer", message.get("body", b""))
                if not message.get("more_body", False):
                    # Before the client can have the whole answer: a test that got its
                    # response and then reads the log finds this request in it.
                    keep_record()
            await send(message)

        try:
            await self.app(scope, tee_receive, tee_send)
        finally:
            keep_record()  # an app that failed before answering in full


def _keep(seen: _Exchange, part: str, chunk: bytes) -> None:
    kept: bytearray = getattr(seen, part)
    if len(kept) + len(chunk) > BODY_LIMIT:
        setattr(seen, f"{part}_truncated", True)
    if not getattr(seen, f"{part}_truncated"):
        kept.extend(chunk)


def _record(seq: int, kind: str, scope: MutableMapping[str, Any], seen: _Exchange, received_at: datetime,
            tocsin_time: datetime, seconds: float) -> ReceivedRequest:
    headers = _headers(scope.get("headers", []))
    body = _content(bytes(seen.body), seen.body_truncated, headers.get("content-type", ""))
    answer = _content(bytes(seen.answer), seen.answer_truncated)
    message, errors = _outcome(seen.status, answer)
    dedup_key = None
    if kind == "events" and isinstance(answer, dict) and isinstance(answer.get("dedup_key"), str):
        dedup_key = answer["dedup_key"]
    elif kind == "events" and isinstance(body, dict) and isinstance(body.get("dedup_key"), str):
        dedup_key = body["dedup_key"]
    return ReceivedRequest(
        seq=seq, kind=kind, method=scope["method"], path=scope["path"],
        query=scope.get("query_string", b"").decode("latin-1"), headers=headers,
        body=body, status=seen.status or 500, message=message, errors=errors, answer=answer,
        received_at=received_at, tocsin_time=tocsin_time, duration_ms=seconds * 1000, dedup_key=dedup_key)
