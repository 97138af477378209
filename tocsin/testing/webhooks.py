"""A webhook recorder: a local receiver that captures PagerDuty-style (v3) webhook deliveries,
verifies their signatures, and saves them as JSON fixture files to replay later.

Record once against a real sender (Tocsin's webhook subscriptions, or PagerDuty itself through a
tunnel), commit the file, and the receiver's tests replay the exact bytes and headers into its
handler, with no server and no sender: ``replay("deliveries.json", my_handler)`` calls the
handler with each ``Delivery``; ``replay(path, "http://127.0.0.1:8000/hook")`` posts them again.

Signatures follow PagerDuty: ``X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body keyed
by the subscription's secret>``, comma-separated when several secrets are active (rotation); a
delivery is verified when any ``v1`` signature matches, each compared in constant time.

The body is kept byte for byte (as text when it is UTF-8, else base64), since a signature covers
the exact bytes: re-serialised JSON would no longer verify.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx

SIGNATURE_HEADER = "x-pagerduty-signature"
FORMAT = "tocsin-webhook-recording/1"
MAX_BODY = 5 * 1024 * 1024  # more than any delivery; a receiver refuses the rest (413)
# Not replayed: they describe the original connection, not the delivery.
HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding", "accept-encoding",
                         "keep-alive"})
T = TypeVar("T")


def sign(body: bytes, secret: str) -> str:
    """The ``X-PagerDuty-Signature`` value for ``body`` under ``secret``."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """Whether any ``v1=`` signature in ``header`` is ``body``'s under ``secret`` (each compared in
    constant time; every one is compared, so the time does not say which matched)."""
    if not header:
        return False
    expected = sign(body, secret).encode()
    matched = False
    for part in header.split(","):
        candidate = part.strip().encode("utf-8", "replace")
        matched |= hmac.compare_digest(candidate, expected)
    return matched


@dataclass(frozen=True)
class Delivery:
    """One received request: the exact body and headers (names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: datetime
    verified: bool | None = None  # None: the recorder had no secret to check with

    @property
    def signature(self) -> str | None:
        return self.headers.get(SIGNATURE_HEADER)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_type(self) -> str | None:
        """``event.event_type`` of a v3 delivery (``incident.triggered`` …), if it has one."""
        try:
            event = self.json().get("event")
        except (ValueError, AttributeError):
            return None
        return event.get("event_type") if isinstance(event, dict) else None

    def verify(self, secret: str) -> bool:
        return verify(self.body, self.signature, secret)

    def to_record(self) -> dict[str, Any]:
        try:
            body, encoding = self.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            body, encoding = base64.b64encode(self.body).decode("ascii"), "base64"
        return {"method": self.method, "path": self.path, "headers": self.headers, "body": body,
                "body_encoding": encoding, "verified": self.verified, "received_at": self.received_at.isoformat()}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Delivery:
        text = record["body"]
        body = base64.b64decode(text) if record.get("body_encoding") == "base64" else text.encode("utf-8")
        return cls(method=record.get("method", "POST"), path=record.get("path", "/"),
                   headers={k.lower(): v for k, v in record.get("headers", {}).items()}, body=body,
                   received_at=datetime.fromisoformat(record["received_at"]), verified=record.get("verified"))


def save(deliveries: Iterable[Delivery], path: str | Path) -> Path:
    """Write ``deliveries`` as a JSON fixture file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": FORMAT, "deliveries": [d.to_record() for d in deliveries]}
    target.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def load(path: str | Path) -> list[Delivery]:
    """The deliveries of a fixture file written by ``save``."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a webhook recording ({FORMAT})")
    return [Delivery.from_record(r) for r in document["deliveries"]]


def replay(source: str | Path | Sequence[Delivery], target: str | Callable[[Delivery], T], *,
           client: httpx.Client | None = None) -> list[Any]:
    """Hand each recorded delivery, in order, to ``target``: a callable (your handler; its results
    are returned) or a URL (each posted with its original headers and body; the responses are
    returned). ``client``: an httpx client to post with (e.g. one over your app's WSGI/ASGI transport)."""
    deliveries = list(source) if not isinstance(source, str | Path) else load(source)
    if callable(target):
        return [target(d) for d in deliveries]
    owned = client is None
    http = client or httpx.Client(timeout=10.0)
    try:
        return [http.request(d.method, target, content=d.body,
                             headers={k: v for k, v in d.headers.items() if k not in HOP_HEADERS})
                for d in deliveries]
    finally:
        if owned:
            http.close()


class WebhookRecorder:
    """A receiver on ``url`` (any path) that records every delivery.

    With a ``secret``, each delivery's signature is checked (``Delivery.verified``) and, when
    ``reject_unverified`` (the default), one that fails is answered 401 as a careful receiver
    would; others get ``status`` (200; set 500 to watch a sender retry)."""

    def __init__(self, secret: str | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 reject_unverified: bool = True, status: int = 200) -> None:
        self.secret, self.reject_unverified, self.status = secret, reject_unverified, status
        self._address = (host, port)
        self._lock = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life ------------------------------------------------------------------------------

    def start(self) -> WebhookRecorder:
        self._server = ThreadingHTTPServer(self._address, _handler_for(self))
        self._server.daemon_threads = True
        # A short poll: stop() waits up to one poll interval for the loop to notice.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="webhook-recorder",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> WebhookRecorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the recorder is not running (start() it)")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    # --- what arrived ------------------------------------------------------------------------

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)
            self._lock.notify_all()

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def wait(self, count: int = 1, *, timeout: float = 5.0) -> list[Delivery]:
        """Block until at least ``count`` deliveries arrived; all of them. TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._deliveries)} of {count} webhook deliveries within {timeout:g} s")
                self._lock.wait(left)
            return list(self._deliveries)

    async def wait_async(
        self, count: int = 1, *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the same call as ``wait``, whose timeout it shares
    ) -> list[Delivery]:
        """``wait`` for async tests (the test's event loop keeps running)."""
        return await asyncio.to_thread(self.wait, count, timeout=timeout)

    def save(self, path: str | Path, *, verified_only: bool = False) -> Path:
        """Write what arrived (only verified deliveries, if asked) as a fixture file for ``replay``."""
        return save([d for d in self.deliveries if d.verified or not verified_only], path)


@dataclass
class _Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def _handler_for(recorder: WebhookRecorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self) -> bytes | None:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = bytearray()
                while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                    chunks += self.rfile.read(size)
                    self.rfile.readline()
                    if len(chunks) > MAX_BODY:
                        return None
                self.rfile.readline()
                return bytes(chunks)
            length = int(self.headers.get("content-length") or 0)
            return None if length > MAX_BODY else self.rfile.read(length)

        def _receive(self) -> None:
            body = self._body()
            if body is None:
                self._answer(_Answer(413, {"error": "body too large"}), close=True)
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified = None if recorder.secret is None else verify(body, headers.get(SIGNATURE_HEADER),
                                                                   recorder.secret)
            recorder._record(Delivery(method=self.command, path=self.path, headers=headers, body=body,
                                      received_at=datetime.now(UTC), verified=verified))
            if verified is False and recorder.reject_unverified:
                self._answer(_Answer(401, {"error": "signature does not match"}))
            else:
                self._answer(_Answer(recorder.status, {"received": True}))

        def _answer(self, answer: _Answer, *, close: bool = False) -> None:
            payload = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            if close:
                self.send_header("connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_PUT = _receive

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the standard library's name
            """Quiet: a test's output is not the place for an access log."""

    return Handler
