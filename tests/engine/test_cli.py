"""``tocsin engine`` and ``tocsin serve --no-engine`` as real processes on a SQLite database as
``tocsin init`` leaves it: the API serves without an engine, one engine runs beside it until SIGTERM,
and a second engine on the same file is refused with a clear error."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import typer.main

from tocsin.bootstrap import InitResult
from tocsin.cli import app as cli
from tocsin.clock import FrozenClock
from tocsin.db.session import Database
from tocsin.engine.lock import EngineAlreadyRunning
from tocsin.engine.loop import Engine
from tocsin.engine.metrics import EngineMetrics

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
STARTED = "engine started: steps "


def test_serve_takes_no_engine() -> None:
    command = typer.main.get_command(cli)
    assert isinstance(command, typer.main.TyperGroup)
    serve = command.commands["serve"]
    assert serve.make_context("serve", ["--no-engine"]).params == {"no_engine": True}
    assert serve.make_context("serve", []).params == {"no_engine": False}
    assert "engine" in command.commands


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def initialised(tmp_path: Path, sqlite_seeded: tuple[Path, InitResult]) -> dict[str, str]:
    """The environment of a SQLite database in the state ``tocsin init`` leaves (the harness's
    copy of what ``bootstrap.initialise``, the command's body, made once this session)."""
    path = tmp_path / "tocsin.db"
    shutil.copy(sqlite_seeded[0], path)
    return {**os.environ, "PYTHONPATH": str(ROOT), "TOCSIN_DATABASE_URL": f"sqlite:///{path}",
            "TOCSIN_LOG_LEVEL": "info"}


class Process:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    async def until_logged(self, text: str, within: float = 30.0) -> None:
        assert self.proc.stderr is not None
        async with asyncio.timeout(within):
            while not any(text in line for line in self.lines):
                line = await self.proc.stderr.readline()
                assert line, f"exited before logging {text!r}: {self.lines}"
                self.lines.append(line.decode())

    async def ended(self, within: float = 30.0) -> int:  # generous: a loaded CI box starts Python slowly
        assert self.proc.stderr is not None
        async with asyncio.timeout(within):
            rest = await self.proc.stderr.read()
            self.lines.extend(rest.decode().splitlines(keepends=True))
            return await self.proc.wait()


@asynccontextmanager
async def tocsin(env: dict[str, str], *args: str) -> AsyncIterator[Process]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tocsin", *args, env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        yield Process(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_the_engine_runs_alone_beside_an_api_without_one_and_stops_on_sigterm(
        initialised: dict[str, str]) -> None:
    port = _free_port()
    env = {**initialised, "TOCSIN_PORT": str(port)}
    async with tocsin(env, "engine") as engine:
        await engine.until_logged(STARTED)
        async with tocsin(env, "serve", "--no-engine") as server, tocsin(env, "engine") as second:
            # A second engine on the file is refused, and says by whom and what to do.
            assert await second.ended() == 1
            refusal = "".join(second.lines)
            holder = engine.proc.pid
            assert f"error: another Tocsin engine (pid {holder}) already runs on this SQLite database" in refusal
            assert "tocsin serve --no-engine" in refusal
            # So is one in this process (flock locks are per open file, across processes too).
            db = Database(env["TOCSIN_DATABASE_URL"])
            with pytest.raises(EngineAlreadyRunning):
                Engine(db, FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)).now, [], EngineMetrics()).start()
            await db.dispose()
            # The API runs without an engine, so it takes no lock.
            await server.until_logged("Application startup complete")
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200
            server.proc.send_signal(signal.SIGTERM)
            # uvicorn shuts down cleanly, then raises the signal again: killed by SIGTERM is its success.
            assert await server.ended() == -signal.SIGTERM
            served = "".join(server.lines)
            assert "Application shutdown complete" in served
            assert "the paging engine is off in this process (--no-engine)" in served
            assert "engine started" not in served
        engine.proc.send_signal(signal.SIGTERM)
        assert await engine.ended(within=5.0) == 0
    log = "".join(engine.lines)
    assert "engine health:" in log and log.rstrip().endswith("engine stopped")
