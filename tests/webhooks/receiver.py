"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 (``http.server`` in a
thread, one thread per request, so a hanging answer holds up nobody else).

It keeps every request it got (path, headers, raw body, when) and checks each signature the way a
PagerDuty receiver does: HMAC-SHA256 of the raw body with the subscription's secret, compared in
constant time (``hmac.compare_digest``), written here independently of Tocsin's own code. Per path
it can be told what to answer next: a status code, ``"hang"`` (answer after ``hang_seconds``) or
``"close"`` (drop the connection without answering)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

Answer = int | str


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.monotonic() when the body was read
    verified: bool | None  # None: no secret known for the path

    @property
    def event(self) -> dict[str, Any]:
        found: dict[str, Any] = orjson.loads(self.body)["event"]
        return found


def signed_by(body: bytes, header: str, secret: str) -> bool:
    """Does one of the header's ``v1=`` values sign ``body`` with ``secret``? (Constant time.)"""
    expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    found = False
    for value in header.split(","):
        found |= hmac.compare_digest(expected.encode(), value.strip().encode())
    return found


@dataclass
class Receiver:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    answers: dict[str, list[Answer]] = field(default_factory=dict)  # path -> next answers (then 200)
    secrets: dict[str, str] = field(default_factory=dict)  # path -> the secret its signatures need
    hang_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def answer(self, path: str, *answers: Answer) -> None:
        with self.lock:
            self.answers.setdefault(path, []).extend(answers)

    def _next(self, path: str) -> Answer:
        with self.lock:
            queued = self.answers.get(path)
            return queued.pop(0) if queued else 200

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        secret = self.secrets.get(handler.path)
        verified = None if secret is None else signed_by(body, headers.get("x-pagerduty-signature", ""), secret)
        with self.lock:
            self.received.append(Received(handler.path, headers, body, time.monotonic(), verified))
        answer = self._next(handler.path)
        if answer == "close":
            handler.close_connection = True
            handler.connection.close()
            return
        if answer == "hang":
            time.sleep(self.hang_seconds)
            answer = 200
        assert isinstance(answer, int)
        payload = b'{"ok": true}' if answer < 300 else b'{"error": "refused by the test receiver"}'
        handler.send_response(answer)
        if 300 <= answer < 400:
            handler.send_header("Location", self.url("/redirected"))
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            receiver.handle(self)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
