"""The importer against a small real HTTP server playing PagerDuty: a 429 with ``ratelimit-reset``
is waited out (said on stderr) and the import goes on; a refused token ends with the source's
message, a hint about --token and exit 4, never a traceback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Server, as_json, invoke

pytestmark = pytest.mark.e2e


class FakePagerDuty(BaseHTTPRequestHandler):
    """An empty account; the first GET /users is refused with a 429 asking for a second's wait."""

    seen: list[tuple[str, float]] = []  # noqa: RUF012 - the test reads what the server saw
    limited = False

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        FakePagerDuty.seen.append((path, time.monotonic()))
        if "bad" in self.headers.get("Authorization", ""):
            self._answer(401, {"error": {"message": "Unauthorized", "code": 2006}})
        elif path == "/users" and not FakePagerDuty.limited:
            FakePagerDuty.limited = True
            self._answer(429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}},
                         {"ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "1"})
        else:
            self._answer(200, {path.rstrip("/").rsplit("/", 1)[-1]: [], "more": False, "limit": 100, "offset": 0})

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def fake() -> Iterator[str]:
    FakePagerDuty.seen, FakePagerDuty.limited = [], False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakePagerDuty)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_429_is_waited_out_as_the_source_asks(server: Server, config: Path, fake: str) -> None:
    result = invoke(server, config, "import", "pagerduty", "--token", "good-token-123456789", "--api-url", fake,
                    "--plan", "--json")
    assert result.exit_code == 0, result.stderr
    assert "rate limited; retrying in 1." in result.stderr
    users = [t for p, t in FakePagerDuty.seen if p == "/users"]
    assert len(users) == 2 and users[1] - users[0] >= 1.0  # waited the second ratelimit-reset asked for
    assert as_json(result)["plan"]["changes"] == []  # an empty account adds nothing, deletes nothing


def test_a_refused_token_says_so_with_a_hint(server: Server, config: Path, fake: str) -> None:
    result = invoke(server, config, "import", "pagerduty", "--token", "bad", "--api-url", fake)
    assert result.exit_code == 4
    assert "error: the source account refused: Unauthorized (HTTP 401)" in result.stderr
    assert "--token" in result.stderr and "Traceback" not in result.stderr
