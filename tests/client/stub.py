"""A real HTTP server in a thread that answers what a test scripts and records every request.

The client is tested over real sockets (its httpx transport untouched); the script is a function
of the request, so a test can answer 429 twice and then 200, or page through a list.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)

    def params(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Script = Callable[[Seen], Reply]


@dataclass
class Stub:
    url: str
    seen: list[Seen]
    script: list[Script]

    def answer(self, script: Script) -> None:
        self.script[0] = script


@contextmanager
def stub_server(script: Script | None = None) -> Iterator[Stub]:
    seen: list[Seen] = []
    holder: list[Script] = [script or (lambda request: Reply(200, {}))]

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Seen(self.command, parts.path, parse_qsl(parts.query, keep_blank_values=True),
                           {k.lower(): v for k, v in self.headers.items()}, json.loads(raw) if raw else None)
            seen.append(request)
            reply = holder[0](request)
            payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Stub(f"http://127.0.0.1:{server.server_address[1]}", seen, holder)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
