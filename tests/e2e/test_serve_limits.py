"""``tocsin serve`` as a real process: slow and idle connections are closed, the open-file limit
is raised, and a connection past the cap is answered 503 (not refused in silence) and logged.

Connection limits do not depend on the database, so this runs on SQLite only."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import (
    INIT_TIMEOUT,
    PROJECT_ROOT,
    STARTUP_TIMEOUT,
    _free_port,
    _stop,
)

TIMEOUT = 1.0  # TOCSIN_REQUEST_TIMEOUT and TOCSIN_KEEPALIVE_TIMEOUT, short so the tests are quick
MAX_CONNECTIONS = 6
STARTING_SOFT_LIMIT = 256  # the server starts under this soft limit and must raise it


@dataclass
class Server:
    port: int
    pid: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return sock


# ``tocsin serve`` started under a lowered soft open-file limit (set in the child itself, not with
# preexec_fn, which is unsafe when the test process has threads).
SERVE_UNDER_LOW_LIMIT = f"""
import resource, sys
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, ({STARTING_SOFT_LIMIT}, hard))
from tocsin.cli import app
sys.argv = ["tocsin", "serve"]
app()
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("serve_limits")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=f"sqlite:///{workdir / 'tocsin.db'}", TOCSIN_HOST="127.0.0.1",
               TOCSIN_PORT=str(port), TOCSIN_LOG_LEVEL="info", TOCSIN_REQUEST_TIMEOUT=str(TIMEOUT),
               TOCSIN_KEEPALIVE_TIMEOUT=str(int(TIMEOUT)), TOCSIN_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
               PYTHONUNBUFFERED="1")
    init = subprocess.run([sys.executable, "-m", "tocsin", "init", "--json"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=INIT_TIMEOUT, check=False)
    assert init.returncode == 0, init.stderr
    json.loads(init.stdout.strip().splitlines()[-1])
    log_path = workdir / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen([sys.executable, "-c", SERVE_UNDER_LOW_LIMIT], env=env, cwd=PROJECT_ROOT,
                                   stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert process.poll() is None, log_path.read_text(errors="replace")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.1)
        yield Server(port, process.pid, log_path)
        assert "Traceback" not in log_path.read_text(errors="replace"), log_path.read_text(errors="replace")
    finally:
        _stop(process)


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed ``sock`` (reading everything it sent), or None if it did not."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - start


def _wait_until_idle_closed() -> None:
    time.sleep(TIMEOUT * 2.5)  # every earlier test's connections have timed out


def test_the_soft_open_file_limit_is_raised_to_the_hard_limit(server: Server) -> None:
    limits = Path(f"/proc/{server.pid}/limits").read_text()
    line = next(row for row in limits.splitlines() if row.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    _, our_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert int(soft) == our_hard == int(hard), line
    assert f"open-file limit raised from {STARTING_SOFT_LIMIT} to {our_hard}" in server.log()


def test_a_connection_that_sends_half_a_request_is_closed(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # the headers never end
        elapsed = _closed_within(sock, TIMEOUT * 5)
    assert elapsed is not None and elapsed >= TIMEOUT * 0.8, elapsed


def test_a_connection_that_sends_half_a_body_is_closed(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"POST /v2/enqueue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"routing")
        elapsed = _closed_within(sock, TIMEOUT * 5)
    assert elapsed is not None, "a half-sent body kept the connection open"


def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    with server.connect() as sock:
        assert _closed_within(sock, TIMEOUT * 5) is not None


def test_an_idle_kept_alive_connection_is_closed_after_its_answer(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert _closed_within(sock, TIMEOUT * 5) is not None


def test_a_slow_but_complete_request_is_answered(server: Server) -> None:
    with server.connect() as sock:
        for part in (b"GET /health HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
            sock.sendall(part)
            time.sleep(TIMEOUT / 4)
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def test_past_the_connection_cap_a_503_is_answered_and_logged(server: Server) -> None:
    _wait_until_idle_closed()
    held = [server.connect() for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)  # let the server accept them all
        with server.connect() as extra:
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            extra.settimeout(5)
            answer = b""
            while chunk := extra.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503"), answer
        assert json.loads(body)["error"]["code"] == 2000
    finally:
        for sock in held:
            sock.close()
    assert "refused 1 connection(s) with 503" in server.log()
    time.sleep(0.3)  # the held connections are gone: the server answers again
    assert httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=5, trust_env=False).status_code == 200
