#!/usr/bin/env python3
"""Benchmark of the pure schedule renderer (tocsin.schedules.oncall).

Part 1: one schedule with 10 layers, 20 users, restrictions and 200 overrides, rendered over a
year (target <= 50 ms).
Part 2: the on-call shift at one instant for each of 200 schedules, the computation behind
``GET /oncalls``, alone (pure) and as the whole request through the app over SQLite
(``bench_oncalls_endpoint``; target for the whole request <= 100 ms).

Usage: .venv/bin/python bench/schedules.py [--runs N] [--seed S]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time as clock
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

# Runnable from a bare checkout too, before `pip install -e .` has put tocsin on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tocsin.schedules.oncall import (
    Layer,
    Override,
    Restriction,
    on_call_entry_at,
    render_schedule,
)

TZ = "America/New_York"
YEAR_START = datetime(2024, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2025, 1, 1, tzinfo=UTC)
USERS = tuple(f"PUSER{i:02d}" for i in range(20))
HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY


def year_schedule(rng: random.Random) -> tuple[list[Layer], list[Override]]:
    """A deliberately busy schedule: every layer kind the renderer handles, over 2024."""
    origin = datetime(2023, 6, 5, 9, tzinfo=UTC)
    weekdays = tuple(Restriction.weekly(day, time(9), 9 * HOUR) for day in range(1, 6))
    specs: list[tuple[int, int, tuple[Restriction, ...], datetime | None]] = [
        (WEEK, 20, (), None),  # base weekly rotation, everyone
        (8 * HOUR, 7, (), datetime(2024, 7, 1, tzinfo=UTC)),  # ends mid-year
        (DAY, 5, weekdays, None),  # business hours, Mon-Fri
        (DAY, 4, (Restriction.daily(time(0), 8 * HOUR),), None),  # follow the sun: 3 layers
        (DAY, 4, (Restriction.daily(time(8), 8 * HOUR),), None),
        (DAY, 4, (Restriction.daily(time(16), 8 * HOUR),), None),
        (12 * HOUR, 6, (Restriction.daily(time(18), 14 * HOUR),), None),  # nights, over midnight
        (WEEK, 3, (Restriction.weekly(6, time(0), 2 * DAY),), None),  # weekends
        (2 * WEEK, 5, (Restriction.weekly(5, time(17), 3 * DAY + 16 * HOUR),), None),
        (DAY, 3, (Restriction.daily(time(22), 10 * HOUR),), None),
    ]
    layers = []
    for index, (turn, size, restrictions, end) in enumerate(specs):
        members = tuple(rng.sample(USERS, size))
        start = YEAR_START + timedelta(days=180) if index == 9 else datetime(2023, 1, 1, tzinfo=UTC)
        virtual_start = origin + timedelta(hours=rng.randrange(24))
        layers.append(
            Layer(f"PLAYER{index}", start, end, members, virtual_start, turn, restrictions)
        )
    overrides = []
    for index in range(200):
        start = YEAR_START + timedelta(minutes=30 * rng.randrange(365 * 48))
        length = timedelta(minutes=30 * rng.randrange(1, 48))
        overrides.append(Override(f"POVR{index:03d}", start, start + length, rng.choice(USERS)))
    return layers, overrides


def small_schedule(rng: random.Random) -> tuple[list[Layer], list[Override]]:
    """A typical team schedule: 1-3 layers, a few users, a handful of overrides."""
    layers = []
    for index in range(rng.randint(1, 3)):
        restrictions: tuple[Restriction, ...] = ()
        if rng.random() < 0.5:
            restrictions = (Restriction.daily(time(rng.randrange(24)), rng.choice((8, 12)) * HOUR),)
        layers.append(
            Layer(
                f"PL{index}",
                datetime(2023, 1, 1, tzinfo=UTC),
                None,
                tuple(rng.sample(USERS, rng.randint(2, 6))),
                datetime(2023, 1, 2, rng.randrange(24), tzinfo=UTC),
                rng.choice((DAY, WEEK, 12 * HOUR)),
                restrictions,
            )
        )
    at = datetime(2024, 6, 1, tzinfo=UTC)
    overrides = [
        Override(
            f"PO{i}",
            at + timedelta(hours=rng.randrange(-72, 72)),
            at + timedelta(hours=rng.randrange(72, 100)),
            rng.choice(USERS),
        )
        for i in range(rng.randrange(4))
    ]
    return layers, overrides


def timed(action: Callable[[], object], runs: int) -> list[float]:
    action()  # warm caches and imports outside the measurement
    samples = []
    for _ in range(runs):
        began = clock.perf_counter()
        action()
        samples.append((clock.perf_counter() - began) * 1000)
    return samples


def oncalls_pure(schedules: list[tuple[list[Layer], list[Override]]], at: datetime) -> int:
    """PURE PART of GET /oncalls: each schedule's current shift, as the endpoint will need it."""
    found = 0
    for layers, overrides in schedules:
        if on_call_entry_at(layers, overrides, TZ, at) is not None:
            found += 1
    return found


def bench_oncalls_endpoint(runs: int, seed: int) -> list[float]:
    """GET /oncalls end to end over 200 schedules (target <= 100 ms): a fresh SQLite database in
    a temporary directory, 20 users, 200 small schedules (as ``small_schedule``) each paged by
    its own escalation policy, then the request timed through the in-process ASGI app (HTTP
    parsing, auth, queries, rendering and JSON; no network)."""
    import asyncio
    import tempfile

    import httpx

    from tocsin.api.app import Tocsin
    from tocsin.auth.models import User
    from tocsin.bootstrap import initialise
    from tocsin.config import Settings

    async def run() -> list[float]:
        rng = random.Random(seed)
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", events_rate_limit=0,
                                rest_rate_limit=0, public_url="http://bench.test")
            seeded = await initialise(settings)
            app = Tocsin(settings, start_worker=False)
            headers = {"Authorization": f"Token token={seeded.api_key}", "From": seeded.admin_email}
            now = datetime.now(UTC)
            async with app.db.transaction() as session:
                for user in USERS:
                    session.add(User(id=user, name=user.title(), email=f"{user.lower()}@bench.test",
                                     role="user", time_zone="Etc/UTC", created_at=now))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
                for index in range(200):
                    layers, _ = small_schedule(rng)
                    body = {"schedule": {"name": f"Schedule {index:03d}", "time_zone": TZ, "schedule_layers": [
                        {"start": layer.start.isoformat(),
                         "rotation_virtual_start": layer.rotation_virtual_start.isoformat(),
                         "rotation_turn_length_seconds": layer.rotation_turn_length_seconds,
                         "users": [{"user": {"id": u, "type": "user_reference"}} for u in layer.users],
                         "restrictions": [{"type": r.type, "start_time_of_day": r.start_time_of_day.isoformat(),
                                           "duration_seconds": r.duration_seconds} for r in layer.restrictions]}
                        for layer in layers]}}
                    r = await client.post("/schedules", headers=headers, json=body)
                    assert r.status_code == 201, r.text
                    target = {"id": r.json()["schedule"]["id"], "type": "schedule_reference"}
                    r = await client.post("/escalation_policies", headers=headers, json={"escalation_policy": {
                        "name": f"Policy {index:03d}",
                        "escalation_rules": [{"escalation_delay_in_minutes": 30, "targets": [target]}]}})
                    assert r.status_code == 201, r.text

                async def one() -> int:
                    r = await client.get("/oncalls", headers=headers, params={"limit": 100, "total": "true"})
                    assert r.status_code == 200, r.text
                    return int(r.json()["total"])

                found = await one()
                print(f"GET /oncalls: {found} on-call entries across 200 schedule-backed policies (+ Default)")
                samples = []
                for _ in range(runs):
                    began = clock.perf_counter()
                    await one()
                    samples.append((clock.perf_counter() - began) * 1000)
            await app.committer.close()
            await app.db.dispose()
        return samples

    return asyncio.run(run())


def report(name: str, samples: list[float], target_ms: float | None) -> None:
    median = statistics.median(samples)
    verdict = ""
    if target_ms is not None:
        status = "OK" if median <= target_ms else "OVER TARGET"
        verdict = f" (target <= {target_ms:.0f} ms: {status})"
    print(
        f"{name}: median {median:.1f} ms, min {min(samples):.1f}, max {max(samples):.1f} "
        f"over {len(samples)} runs{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.platform()}, {platform.machine()}, cpus={os.cpu_count()}"
    )

    layers, overrides = year_schedule(rng)
    result = render_schedule(layers, overrides, TZ, YEAR_START, YEAR_END)
    entries = sum(len(v) for v in result.layers.values())
    print(
        f"year schedule: {len(layers)} layers, {len(overrides)} overrides -> {entries} layer "
        f"entries, {len(result.final)} final entries, coverage {result.final_coverage:.1f} %"
    )
    report(
        "render one year",
        timed(lambda: render_schedule(layers, overrides, TZ, YEAR_START, YEAR_END), args.runs),
        50,
    )
    report(
        "render one year, overflow=true",
        timed(
            lambda: render_schedule(layers, overrides, TZ, YEAR_START, YEAR_END, overflow=True),
            args.runs,
        ),
        50,
    )

    # Not a target, a scaling check: output size (one Entry per turn) dominates the cost.
    hourly = [replace(layer, rotation_turn_length_seconds=HOUR) for layer in layers]
    size = sum(
        map(len, render_schedule(hourly, overrides, TZ, YEAR_START, YEAR_END).layers.values())
    )
    report(
        f"stress: same year with 1-hour turns on every layer ({size} layer entries)",
        timed(lambda: render_schedule(hourly, overrides, TZ, YEAR_START, YEAR_END), args.runs),
        None,
    )

    schedules = [small_schedule(rng) for _ in range(199)] + [(layers, overrides)]
    at = datetime(2024, 6, 1, 12, tzinfo=UTC)
    print(
        f"oncalls: {oncalls_pure(schedules, at)} of {len(schedules)} schedules have someone on call"
    )
    report(
        "on-call shift at one instant x 200 schedules (pure part)",
        timed(lambda: oncalls_pure(schedules, at), args.runs),
        100,
    )
    report(
        "GET /oncalls end to end, 200 schedules (in-process ASGI, SQLite)",
        bench_oncalls_endpoint(args.runs, args.seed),
        100,
    )


if __name__ == "__main__":
    main()
