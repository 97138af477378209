"""A real Tocsin server for the CLI tests: the database initialised as ``tocsin init`` does, then
``tocsin serve`` as a process, on SQLite (one for the session) and, for the tests that ask for
``any_server``, on a fresh PostgreSQL database too (also one for the session). The CLI runs
against it two ways: Typer's CliRunner (in-process) and a subprocess (``python -m tocsin``), with
the credentials in TOCSIN_API_* and a profile file of the test's own."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from tests.conftest import PG_ADMIN_URL, pg_admin, require_postgres
from tocsin.bootstrap import initialise
from tocsin.cli import app
from tocsin.config import Settings

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0


@dataclass
class Server:
    backend: str
    url: str
    api_key: str
    admin_email: str
    service_id: str
    integration_key: str
    policy_id: str
    log_path: Path

    def env(self, config: Path, **extra: str) -> dict[str, str]:
        """What the CLI needs to reach this server (no TOCSIN_* of the test process leaks in)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
        env.update(TOCSIN_API_URL=self.url, TOCSIN_API_TOKEN=self.api_key, TOCSIN_API_FROM=self.admin_email,
                   TOCSIN_CLI_CONFIG=str(config), COLUMNS="250", TZ="UTC", PYTHONPATH=str(ROOT))
        env.update(extra)
        return env

    def rest(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, headers={
            "Authorization": f"Token token={self.api_key}", "Accept": "application/vnd.pagerduty+json;version=2",
            "From": self.admin_email})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(backend: str, db_url: str, workdir: Path) -> Iterator[Server]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=db_url, TOCSIN_HOST="127.0.0.1", TOCSIN_PORT=str(port), PYTHONPATH=str(ROOT),
               TOCSIN_LOG_LEVEL="warning", TOCSIN_REST_RATE_LIMIT="0", TOCSIN_EVENTS_RATE_LIMIT="0",
               PYTHONUNBUFFERED="1")
    # What `tocsin init` does, called in this process: a process of its own (interpreter, imports)
    # cost about as much CPU as the server's start. The command itself is tested in test_bootstrap.
    seed = asyncio.run(initialise(Settings(database_url=db_url, host="127.0.0.1", port=port)))
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "tocsin", "serve"], env=env, cwd=ROOT, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert process.poll() is None, log_path.read_text(errors="replace")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.1)
        assert seed.api_key and seed.service_id and seed.integration_key and seed.escalation_policy_id, seed
        yield Server(backend, url, seed.api_key, seed.admin_email, seed.service_id, seed.integration_key,
                     seed.escalation_policy_id, log_path)
        assert process.poll() is None, f"the server died during the tests:\n{log_path.read_text(errors='replace')}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("cli_sqlite")
    yield from _start("sqlite", f"sqlite:///{workdir / 'tocsin.db'}", workdir)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on a fresh PostgreSQL database, for the session."""
    require_postgres()
    name = f"tocsin_cli_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        yield from _start("postgres", url, tmp_path_factory.mktemp("cli_pg"))
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_server(request: pytest.FixtureRequest) -> Server:
    """The SQLite server above, then the PostgreSQL one. Each is a session fixture of its own, so
    neither stops when the parameter changes (test files alternate between them)."""
    found = request.getfixturevalue("server" if request.param == "sqlite" else "pg_server")
    assert isinstance(found, Server)
    return found


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The test's own profile file (not written unless a test logs in)."""
    return tmp_path / "cli.toml"


def invoke(server: Server, config: Path, *args: str, input: str | None = None, **env: str) -> Result:  # noqa: A002 - CliRunner's word
    """The command in-process, through Typer's CliRunner."""
    return CliRunner().invoke(app, list(args), env=server.env(config, **env), input=input, catch_exceptions=False)


def run(server: Server, config: Path, *args: str, input: str | None = None,  # noqa: A002 - subprocess's word
        **env: str) -> subprocess.CompletedProcess[str]:
    """The command as a process, as a shell or a cron job runs it."""
    return subprocess.run([sys.executable, "-m", "tocsin", *args], env=server.env(config, **env), cwd=ROOT,
                          input=input, capture_output=True, text=True, timeout=60, check=False)


def shell(server: Server, config: Path, pipeline: str) -> subprocess.CompletedProcess[str]:
    """A shell pipeline of tocsin commands (``tocsin`` is ``python -m tocsin``)."""
    command = pipeline.replace("tocsin ", f"{sys.executable} -m tocsin ")
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], env=server.env(config),
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def as_json(result: Any) -> Any:
    out = result.stdout
    try:
        return json.loads(out)
    except ValueError as exc:
        raise AssertionError(f"not JSON ({exc}):\n{out}\nstderr:\n{result.stderr}") from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """On a failure, attach the server's log."""
    report = yield
    for name in ("server", "any_server", "pg_server"):
        found = getattr(item, "funcargs", {}).get(name)
        if report.failed and isinstance(found, Server):
            report.sections.append((f"tocsin server log ({found.backend})", found.log_path.read_text(errors="replace")))
    return report
