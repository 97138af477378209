#!/usr/bin/env python3
"""Server-side render time of the web UI's schedule drawing: ``GET /ui/schedules/{id}?weeks=4``
for a busy schedule (target p95 <= 100 ms).

The schedule (America/New_York) has three layers: a weekly rotation of four people, a daily
rotation of three on weekday business hours (five weekly restrictions) and a daily rotation of
three on nights (a daily restriction across midnight); and 20 overrides of 2 to 12 hours spread
over the four weeks drawn. The page is requested ``--runs`` times (after a warm-up) by one signed-in
browser session over one keep-alive connection, one request at a time, so each figure is the
server's whole work for the page (session check, reads, rendering the schedule, drawing, HTML).

``--spawn`` (the default) starts a real ``tocsin serve`` on a temporary SQLite database and
talks to it over localhost HTTP; ``--in-process`` sends the same requests through the ASGI app
in this process (no sockets). Run from the repository root:

    .venv/bin/python bench/ui_schedule.py [--runs 300] [--in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from common import free_port  # bench/ is the script's directory

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's tocsin

PASSWORD = "correct horse battery staple"
TARGET_P95_MS = 100.0
ZONE = "America/New_York"


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return (f"{model.group(1) if model else platform.processor() or 'unknown CPU'}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def schedule_body(users: list[str]) -> dict[str, Any]:
    def layer(name: str, members: list[str], turn: int, restrictions: list[dict[str, Any]]) -> dict[str, Any]:
        return {"name": name, "start": "2024-01-01T00:00:00Z", "rotation_virtual_start": "2024-01-01T09:00:00Z",
                "rotation_turn_length_seconds": turn, "restrictions": restrictions,
                "users": [{"user": {"id": u, "type": "user_reference"}} for u in members]}
    weekdays = [{"type": "weekly_restriction", "start_day_of_week": day, "start_time_of_day": "09:00:00",
                 "duration_seconds": 8 * 3600} for day in range(1, 6)]
    nights = [{"type": "daily_restriction", "start_time_of_day": "22:00:00", "duration_seconds": 10 * 3600}]
    return {"schedule": {"name": "Bench primary", "time_zone": ZONE, "schedule_layers": [
        layer("Weekly", users[0:4], 7 * 86_400, []),
        layer("Business hours", users[4:7], 86_400, weekdays),
        layer("Nights", users[1:4], 86_400, nights)]}}


def overrides_body(users: list[str], first: datetime, rng: random.Random) -> dict[str, Any]:
    items = []
    for _ in range(20):
        start = first + timedelta(hours=rng.randrange(4 * 7 * 24 - 12))
        items.append({"start": start.isoformat(), "end": (start + timedelta(hours=rng.randrange(2, 13))).isoformat(),
                      "user": {"id": rng.choice(users), "type": "user_reference"}})
    return {"overrides": items}


async def build_world(client: httpx.AsyncClient, headers: dict[str, str], first: datetime) -> str:
    """Seven people, the schedule and its overrides, through the REST API; the schedule's id."""
    users = []
    for n in range(7):
        r = await client.post("/users", headers=headers, json={"user": {
            "type": "user", "name": f"Person {chr(65 + n)} Bench", "email": f"p{n}@bench.test", "role": "user"}})
        assert r.status_code == 201, r.text
        users.append(r.json()["user"]["id"])
    r = await client.post("/schedules", headers=headers, json=schedule_body(users))
    assert r.status_code == 201, r.text
    schedule = str(r.json()["schedule"]["id"])
    r = await client.post(f"/schedules/{schedule}/overrides", headers=headers,
                          json=overrides_body(users, first, random.Random(7)))
    assert r.status_code == 201 and all(item["status"] == 201 for item in r.json()), r.text
    return schedule


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/ui/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    r = await client.post("/ui/sign-in", data={"csrf": token.group(1), "email": email, "password": PASSWORD,
                                               "next": "/"})
    assert r.status_code == 303 and "sign-in" not in r.headers["location"], r.text[:500]


async def measure(client: httpx.AsyncClient, path: str, runs: int, warmup: int) -> list[float]:
    samples = []
    for n in range(warmup + runs):
        began = time.perf_counter()
        r = await client.get(path)
        elapsed = (time.perf_counter() - began) * 1000
        assert r.status_code == 200 and 'data-lane="final"' in r.text, r.text[:500]
        if n >= warmup:
            samples.append(elapsed)
    return samples


@contextmanager
def spawned(tmp: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A real ``tocsin serve`` on a temporary SQLite database, its admin's password set: its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=f"sqlite:///{tmp}/bench.db", TOCSIN_HOST="127.0.0.1", TOCSIN_PORT=str(port),
               TOCSIN_PUBLIC_URL=url, TOCSIN_REST_RATE_LIMIT="0", TOCSIN_EVENTS_RATE_LIMIT="0",
               TOCSIN_LOG_LEVEL="warning", PYTHONPATH=str(REPO))

    def tocsin(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run([sys.executable, "-m", "tocsin", *args], env=env, cwd=REPO, input=stdin,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    seed = json.loads(tocsin("init", "--json"))
    tocsin("user", "set-password", seed["admin_email"], "--password-stdin", stdin=PASSWORD + "\n")
    with (Path(tmp) / "server.log").open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "tocsin", "serve"], env=env, cwd=REPO, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
            yield url, seed
        finally:
            server.terminate()
            server.wait(timeout=10)


@asynccontextmanager
async def in_process(tmp: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    from tocsin.api.app import Tocsin
    from tocsin.auth.logic import live_user
    from tocsin.bootstrap import initialise
    from tocsin.config import Settings
    from tocsin.ui import accounts

    settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", events_rate_limit=0, rest_rate_limit=0,
                        public_url="http://bench.test")
    seeded = await initialise(settings)
    app = Tocsin(settings, start_worker=False)
    async with app.db.transaction() as session:
        user = await live_user(session, email=seeded.admin_email)
        await accounts.set_password(session, user.id, PASSWORD, datetime.now(UTC))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.test") as client:
            yield client, {"admin_email": seeded.admin_email, "api_key": seeded.api_key}
    finally:
        await app.committer.close()
        await app.db.dispose()


Result = tuple[str, int, int, list[float]]  # the path, blocks drawn, the page's bytes, the samples (ms)


async def bench_page(client: httpx.AsyncClient, seed: dict[str, Any], args: argparse.Namespace) -> Result:
    """Builds the schedule, signs in, renders the page ``args.runs`` times."""
    headers = {"Authorization": f"Token token={seed['api_key']}", "From": seed["admin_email"],
               "Accept": "application/vnd.pagerduty+json;version=2"}
    today = datetime.now(UTC).date()
    first = datetime(today.year, today.month, today.day, tzinfo=UTC)
    schedule = await build_world(client, headers, first)
    await sign_in(client, seed["admin_email"])
    path = f"/ui/schedules/{schedule}?start={today.isoformat()}&weeks=4&tz={ZONE}"
    page = await client.get(path)
    samples = await measure(client, path, args.runs, args.warmup)
    return path, page.text.count('role="img"'), len(page.content), samples


async def in_process_page(tmp: str, args: argparse.Namespace) -> Result:
    async with in_process(tmp) as (client, seed):
        return await bench_page(client, seed, args)


async def spawned_page(url: str, seed: dict[str, Any], args: argparse.Namespace) -> Result:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await bench_page(client, seed, args)


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if args.in_process:
            path, blocks, size, samples = asyncio.run(in_process_page(tmp, args))
        else:
            with spawned(tmp) as (url, seed):
                path, blocks, size, samples = asyncio.run(spawned_page(url, seed, args))
    ordered = sorted(samples)
    p50, p95 = statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)]
    how = "in-process ASGI (no sockets)" if args.in_process else "a spawned `tocsin serve` over localhost HTTP"
    print(f"machine: {machine()}")
    print(f"GET {path.split('?')[0]}?weeks=4 ({blocks} blocks drawn, {size // 1024} KB) through {how}, "
          f"SQLite, {args.runs} renders after {args.warmup} warm-up")
    verdict = "OK" if p95 <= TARGET_P95_MS else "OVER TARGET"
    print(f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, min {ordered[0]:.1f}, max {ordered[-1]:.1f} "
          f"(target p95 <= {TARGET_P95_MS:.0f} ms: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--in-process", action="store_true", help="the ASGI app in this process, no server")
    args = parser.parse_args()
    if args.runs < 200:
        parser.error("--runs must be at least 200 (p95 needs the samples)")
    run(args)


if __name__ == "__main__":
    main()
