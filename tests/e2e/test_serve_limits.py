"""``tocsin serve`` as a real process: slow and idle connections are closed, the open-file limit
is raised, and a connection past the cap is answered 503 (not refused in silence) and logged.

Connection limits do not depend on the database, so this runs on SQLite only."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import (
    PROJECT_ROOT,
    STARTUP_TIMEOUT,
    _free_port,
    _stop,
)
from tocsin.bootstrap import initialise
from tocsin.config import Settings
from tocsin.serving import RESERVED_FILES, Refusals

pytestmark = pytest.mark.e2e

TIMEOUT = 1.0  # TOCSIN_REQUEST_TIMEOUT and TOCSIN_KEEPALIVE_TIMEOUT, short so the tests are quick
MAX_CONNECTIONS = 6
STARTING_SOFT_LIMIT = 256  # the server starts under this soft limit and must raise it
TIGHT_FILE_LIMIT = 200  # soft and hard: the server cannot raise it
TIGHT_CAP = TIGHT_FILE_LIMIT - RESERVED_FILES


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


# ``tocsin serve`` started under lowered open-file limits (set in the child itself, not with
# preexec_fn, which is unsafe when the test process has threads); argv: soft limit, hard limit or -1
# for the inherited one.
SERVE_UNDER_LIMITS = """
import resource, sys
soft, hard = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard if hard >= 0 else resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
from tocsin.cli import app
sys.argv = ["tocsin", "serve"]
app()
"""


def _launch(workdir: Path, soft: int, hard: int, **settings: str) -> Iterator[Server]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=f"sqlite:///{workdir / 'tocsin.db'}", TOCSIN_HOST="127.0.0.1",
               TOCSIN_PORT=str(port), TOCSIN_LOG_LEVEL="info", PYTHONUNBUFFERED="1", **settings)
    # The database as `tocsin init` leaves it, made in this process (the command is test_bootstrap's).
    asyncio.run(initialise(Settings(database_url=env["TOCSIN_DATABASE_URL"])))
    log_path = workdir / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen([sys.executable, "-c", SERVE_UNDER_LIMITS, str(soft), str(hard)], env=env,
                                   cwd=PROJECT_ROOT, stdout=log_file, stderr=subprocess.STDOUT)
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _launch(tmp_path_factory.mktemp("serve_limits"), STARTING_SOFT_LIMIT, -1,
                       TOCSIN_REQUEST_TIMEOUT=str(TIMEOUT), TOCSIN_KEEPALIVE_TIMEOUT=str(int(TIMEOUT)),
                       TOCSIN_MAX_CONNECTIONS=str(MAX_CONNECTIONS))


@pytest.fixture(scope="module")
def tight_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose hard open-file limit leaves it ``TIGHT_CAP`` connections and the reserve, no more;
    requests may take long, so held connections stay open through a test."""
    yield from _launch(tmp_path_factory.mktemp("serve_tight"), TIGHT_FILE_LIMIT, TIGHT_FILE_LIMIT,
                       TOCSIN_REQUEST_TIMEOUT="30", TOCSIN_KEEPALIVE_TIMEOUT="30")


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


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sent before closing ``sock`` (a reset after the answer ends it too)."""
    sock.settimeout(10)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    return answer


def test_a_flood_past_the_cap_is_refused_without_running_out_of_files(tight_server: Server) -> None:
    held = [tight_server.connect() for _ in range(TIGHT_CAP)]
    try:
        time.sleep(0.5)  # let the server accept them all: it is at its cap
        flood = [tight_server.connect() for _ in range(3 * TIGHT_CAP)]
        for sock in flood:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answers = [_answer(sock) for sock in flood]
        for sock in flood:
            sock.close()
    finally:
        for sock in held:
            sock.close()
    log = tight_server.log()
    assert "Too many open files" not in log and "EMFILE" not in log, log
    assert "refused 1 connection(s) with 503" in log, log
    time.sleep(0.3)  # the held connections are gone: the server answers again
    assert httpx.get(f"http://127.0.0.1:{tight_server.port}/health", timeout=5, trust_env=False).status_code == 200
    # every refused client was told so (none was accepted and dropped for want of a descriptor)
    assert [a.split(b"\r\n", 1)[0] for a in answers] == [b"HTTP/1.1 503 Service Unavailable"] * len(flood)


PIPELINED = 64


def test_a_client_that_never_reads_its_answer_is_closed(server: Server) -> None:
    full = httpx.get(f"http://127.0.0.1:{server.port}/openapi.json", timeout=5, trust_env=False).content
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a tiny window the answer cannot fit
        sock.connect(("127.0.0.1", server.port))
        # answers (pipelined) that overflow the kernel's buffers, which grow to a few MB, into the server's
        sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * PIPELINED)
        time.sleep(TIMEOUT / 2)
        assert httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=2, trust_env=False).status_code == 200
        time.sleep(TIMEOUT * 4)  # never reading, past the deadline
        received = _answer(sock)
    assert len(received) < PIPELINED * len(full), "the server kept the connection open for a client that never read"
    assert "did not read its answer" in server.log()


def test_clients_gone_before_their_refusal_is_written_leave_the_server_answering(server: Server) -> None:
    _wait_until_idle_closed()
    held = [server.connect() for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)  # let the server accept them all: it is at its cap
        for _ in range(50):
            gone = server.connect()
            gone.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            gone.close()  # reset, most likely before the server has accepted it
        time.sleep(0.3)
        with server.connect() as extra:
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _answer(extra).startswith(b"HTTP/1.1 503"), server.log()
    finally:
        for sock in held:
            sock.close()
    assert "Traceback" not in server.log(), server.log()


def test_refusals_after_a_logged_one_are_logged_when_the_interval_ends(caplog: pytest.LogCaptureFixture) -> None:
    async def burst() -> None:
        refusals = Refusals(cap=MAX_CONNECTIONS, interval=0.05)
        for _ in range(3):
            refusals.refused(asyncio.get_running_loop())
        await asyncio.sleep(0.2)  # then no refusal for long: the two after the first must still be told

    with caplog.at_level(logging.ERROR, logger="tocsin.serving"):
        asyncio.run(burst())
    assert [r.getMessage().partition(" in the last")[0] for r in caplog.records] == [
        "refused 1 connection(s) with 503", "refused 2 connection(s) with 503"]
