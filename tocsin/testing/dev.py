"""``tocsin dev``: a local PagerDuty stand-in for developing an integration (tests in any
language, a laptop), in one command.

The real app (``tocsin serve``'s) on a temporary SQLite database (or ``--db FILE``, created and
seeded if new), seeded as the pytest fixture is (``seed``), with notifications captured instead
of sent, behind the inspector and ``/dev`` (``devapp``). Time can run fast (``--clock-rate``, the
``ScaledClock`` setting) and be moved on by hand (``POST /dev/clock/advance``): the clock is a
``ShiftedClock`` around the configured one.

When it is listening it prints the URLs and keys (``--json``: one JSON object on one line, for
scripts that start it), then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import signal
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from tocsin.api.app import Tocsin
from tocsin.clock import ShiftedClock
from tocsin.config import Settings
from tocsin.events.ingest import V2_PATH
from tocsin.testing.devapp import PREFIX, DevApp
from tocsin.testing.seed import ESCALATION_MINUTES, Seed, seed


@dataclass(frozen=True)
class DevOptions:
    db: Path | None = None  # None: a temporary database, deleted at exit
    host: str = "127.0.0.1"
    port: int = 8080  # 0: any free port (printed)
    clock_rate: float = 1.0
    as_json: bool = False
    log_level: str = "warning"


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def facts(base: str, found: Seed, database: Path, temporary: bool, rate: float) -> dict[str, Any]:
    """What the banner says, as data (the ``--json`` line)."""
    return {
        "url": base, "rest_url": base, "events_url": base + V2_PATH, "inspector_url": base + PREFIX,
        "routing_key": found.routing_key, "api_key": found.api_key, "admin_email": found.admin_email,
        "responder_email": found.responder_email, "service_id": found.service_id,
        "escalation_policy_id": found.escalation_policy_id, "database": str(database),
        "temporary_database": temporary, "clock_rate": rate,
    }


def banner(f: dict[str, Any]) -> str:
    keep = "temporary, deleted at exit" if f["temporary_database"] else "kept"
    return "\n".join([
        "Tocsin dev: a local PagerDuty stand-in (emails, SMS and calls are captured, never sent)",
        f"  REST API        {f['rest_url']}   (instead of https://api.pagerduty.com)",
        f"  Events API v2   {f['events_url']}   (instead of https://events.pagerduty.com/v2/enqueue)",
        f"  Inspector       {f['inspector_url']}   (JSON: {PREFIX}/requests, {PREFIX}/notifications)",
        f"  Routing key     {f['routing_key']}",
        f"  API key         {f['api_key']}   (account key; REST writes send From: {f['admin_email']})",
        f"  Paged           {f['admin_email']} at once; {f['responder_email']} after {ESCALATION_MINUTES} minutes",
        f"  Clock           {f['clock_rate']:g}x real time; move it on: POST {PREFIX}/clock/advance {{\"minutes\": 5}}",
        f"  Database        {f['database']} ({keep})",
        "Ctrl+C stops it.",
    ])


def run_dev(options: DevOptions) -> None:
    """Serve until SIGINT or SIGTERM (blocks)."""
    logging.basicConfig(level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    directory: Path | None = None
    if options.db is not None:
        database = options.db.resolve()
    else:
        directory = Path(tempfile.mkdtemp(prefix="tocsin-dev-"))
        database = directory / "tocsin.db"
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again for the
    # handler it found: make that an orderly exit, so the temporary database is removed.
    previous = signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        asyncio.run(_serve(options, database))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


async def _serve(options: DevOptions, database: Path) -> None:
    url = f"sqlite:///{database}"
    found = await seed(url)
    sock = _bind(options.host, options.port)
    host = f"[{options.host}]" if ":" in options.host else options.host
    base = f"http://{host}:{sock.getsockname()[1]}"
    settings = Settings(database_url=url, host=options.host, port=sock.getsockname()[1], public_url=base,
                        capture_notifications=True, clock_rate=options.clock_rate, log_level=options.log_level)
    tocsin = Tocsin(settings)
    clock = ShiftedClock(tocsin.runtime.clock)
    tocsin.runtime.clock = clock
    app = DevApp(tocsin, clock, clock_rate=options.clock_rate)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, log_level=options.log_level,
                                           access_log=False, timeout_graceful_shutdown=5))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.02)
    if server.started:
        said = facts(base, found, database, options.db is None, options.clock_rate)
        print(json.dumps(said) if options.as_json else banner(said), flush=True)
    try:
        await serving
    finally:
        sock.close()
