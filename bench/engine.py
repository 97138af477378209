#!/usr/bin/env python3
"""The paging engine, end to end and in bulk.

1. **Trigger to first email** (`latency`): a fresh `tocsin serve` (engine inside) with its SMTP
   settings pointing at a real SMTP server (aiosmtpd) run by this script. Triggers go to
   `POST /v2/enqueue` at a steady rate (default 500 at 50/s), each with a unique summary; the
   SMTP server notes when each incident's first email arrives. Reports p50/p90/p99/max of
   trigger-sent → email-accepted (target p99 ≤ 1 s). The default service of `tocsin init` pages
   its admin, whose default notification rule emails at once (as PagerDuty's defaults do).
2. **Escalation steps in bulk** (`steps`): in-process on a temporary database with a frozen
   clock: N incidents (default 10,000) are opened and their first sends delivered, then the
   clock passes the escalation delay and the engine runs until idle: N escalation steps, each
   with its notification sent through the real SMTP server. Reports the wall time (target < 5 s).

Usage: `.venv/bin/python bench/engine.py --spawn sqlite|postgres|both [--part latency|steps|both]`.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from common import free_port, machine_info, percentile, recreate_pg
from server_process import initialise, start, stop, wait_health
from smtp_sink import SinkProcess  # bench/ is the script's directory

REPO = Path(__file__).resolve().parent.parent
TOKEN = re.compile(rb"engine-bench-(\d+)")


@dataclass
class Mailbox:
    """The SMTP server's handler: when each bench token's first message arrived."""

    first_seen: dict[int, float] = field(default_factory=dict)
    messages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        # A bundled page names several incidents (their titles carry the tokens).
        found = {int(m.group(1)) for m in TOKEN.finditer(envelope.content)}
        with self.lock:
            self.messages += 1
            for token in found:
                self.first_seen.setdefault(token, now)
        return "250 OK"


def start_thread_profile() -> bool:
    """``BENCH_YAPPI=FILE``: CPU time of every thread (SQLite's writer thread included, which
    cProfile does not see) with yappi, when it is importable (not a dependency of Tocsin)."""
    if not os.environ.get("BENCH_YAPPI"):
        return False
    import yappi  # type: ignore[import-not-found, import-untyped, unused-ignore]  # optional, installed by hand

    yappi.set_clock_type("cpu")
    yappi.start(builtins=False, profile_threads=True)
    return True


def stop_thread_profile(path: str) -> None:
    import yappi  # type: ignore[import-not-found, import-untyped, unused-ignore]  # optional, installed by hand

    yappi.stop()
    with open(path, "w") as out:
        yappi.get_func_stats().sort("tsub").print_all(out=out, columns={
            0: ("name", 90), 1: ("ncall", 10), 2: ("tsub", 8), 3: ("ttot", 8), 4: ("tavg", 8)})


def smtp_env(port: int) -> dict[str, str]:
    return {"TOCSIN_SMTP_HOST": "127.0.0.1", "TOCSIN_SMTP_PORT": str(port), "TOCSIN_SMTP_SECURITY": "none",
            "TOCSIN_EMAIL_FROM": "tocsin@bench.test"}


# --- part 1: trigger -> first email ------------------------------------------------------------

async def send_triggers(url: str, key: str, count: int, rate: float) -> dict[int, float]:
    sent: dict[int, float] = {}
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        start = time.monotonic()

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            sent[i] = time.monotonic()
            body = {"routing_key": key, "event_action": "trigger", "dedup_key": f"engine-bench-{i}",
                    "payload": {"summary": f"engine-bench-{i} disk full", "source": "bench", "severity": "critical"}}
            r = await client.post("/v2/enqueue", json=body)
            r.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(count)))
    return sent


def latency(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    tmp, port = Path(tempfile.mkdtemp(prefix=f"tocsin-engine-bench-{backend}-")), free_port()
    url, proc = f"http://127.0.0.1:{port}", None
    db_url = f"sqlite:///{tmp}/bench.db" if backend == "sqlite" else args.pg_url
    env = {**os.environ, "TOCSIN_DATABASE_URL": db_url, "TOCSIN_HOST": "127.0.0.1", "TOCSIN_PORT": str(port),
           "TOCSIN_EVENTS_RATE_LIMIT": "0", "TOCSIN_PUBLIC_URL": url, **smtp_env(smtp.port)}
    try:
        if backend == "postgres":
            asyncio.run(recreate_pg(args.pg_url))
        creds = initialise(env, REPO)
        proc = start(env, REPO, tmp / "server.log", "serve")
        if not wait_health(url, proc):
            sys.exit(f"tocsin serve did not start:\n{(tmp / 'server.log').read_text()[-3000:]}")
        sent = asyncio.run(send_triggers(url, creds["integration_key"], args.incidents, args.rate))
        deadline = time.monotonic() + 60
        while len(mailbox.first_seen) < args.incidents and time.monotonic() < deadline:
            time.sleep(0.1)
        lat = [(mailbox.first_seen[i] - sent[i]) * 1000 for i in sent if i in mailbox.first_seen]
        return {"backend": backend, "incidents": args.incidents, "rate_per_s": args.rate,
                "emailed": len(lat), "messages": mailbox.messages,
                "latency_ms": {"p50": round(percentile(lat, 0.5), 1), "p90": round(percentile(lat, 0.9), 1),
                               "p99": round(percentile(lat, 0.99), 1), "max": round(max(lat), 1)} if lat else None}
    finally:
        stop(proc)
        smtp.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


# --- part 2: escalation steps in bulk -----------------------------------------------------------

async def bulk_steps(args: argparse.Namespace, backend: str, smtp_port: int) -> dict[str, Any]:
    from datetime import UTC, datetime

    from tocsin.api.app import Tocsin
    from tocsin.bootstrap import initialise
    from tocsin.clock import FrozenClock
    from tocsin.config import Settings

    tmp = Path(tempfile.mkdtemp(prefix=f"tocsin-engine-steps-{backend}-"))
    db_url = f"sqlite:///{tmp}/steps.db" if backend == "sqlite" else args.pg_url
    if backend == "postgres":
        await recreate_pg(args.pg_url)
    env = smtp_env(smtp_port)
    settings = Settings(database_url=db_url, events_rate_limit=0, rest_rate_limit=0, public_url="http://bench.test",
                        smtp_host=env["TOCSIN_SMTP_HOST"], smtp_port=smtp_port, email_from=env["TOCSIN_EMAIL_FROM"])
    seed = await initialise(settings)
    app = Tocsin(settings, start_worker=False, start_engine=False)
    gc.freeze()  # as `tocsin serve`'s lifespan does once the app is built (no lifespan runs here)
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    app.runtime.clock = clock
    auth = {"Authorization": f"Token token={seed.api_key}", "Accept": "application/vnd.pagerduty+json;version=2",
            "From": seed.admin_email}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.test",
                                     headers=auth, timeout=60) as client:
            users = []
            for n in (1, 2):
                r = await client.post("/users", json={"user": {"name": f"Level {n}", "email": f"level{n}@bench.test"}})
                r.raise_for_status()
                users.append(r.json()["user"]["id"])
            rules = [{"escalation_delay_in_minutes": 5, "targets": [{"id": u, "type": "user_reference"}]}
                     for u in users]
            r = await client.post("/escalation_policies", json={"escalation_policy": {
                "name": "Bench", "escalation_rules": rules}})
            r.raise_for_status()
            policy = r.json()["escalation_policy"]["id"]
            r = await client.post("/services", json={"service": {
                "name": "Bench", "escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}})
            r.raise_for_status()
            r = await client.post(f"/services/{r.json()['service']['id']}/integrations", json={"integration": {
                "type": "events_api_v2_inbound_integration", "name": "bench"}})
            r.raise_for_status()
            key = r.json()["integration"]["integration_key"]
            gate = asyncio.Semaphore(32)

            async def trigger(i: int) -> None:
                async with gate:
                    r = await client.post("/v2/enqueue", json={
                        "routing_key": key, "event_action": "trigger", "dedup_key": f"steps-{i}",
                        "payload": {"summary": f"engine-bench-{i} steps", "source": "bench", "severity": "critical"}})
                    r.raise_for_status()

            await asyncio.gather(*(trigger(i) for i in range(args.steps)))
        opened = await app.worker.drain()
        started, cpu = time.perf_counter(), time.process_time()
        first = await app.engine.tick()  # level 1: every incident's first email
        first_s, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        clock.advance(minutes=5)
        names = [step.name for step in app.engine.steps]
        before = {name: app.engine.metrics.step_seconds(name) for name in names}
        profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None  # where the time goes
        if profile is not None:
            profile.enable()
        threads = start_thread_profile()
        started, cpu = time.perf_counter(), time.process_time()
        if args.tick:
            second = await app.engine.tick()  # level 2: N escalation steps and their emails
            escalated, sent = second.done.get("escalate"), second.done.get("notify")
        else:  # the engine's own loop, as in `tocsin serve`: only the steps with work due run
            # Every escalation sends its new level's page: all sends recorded means all steps done.
            sent = await run_loop_until_sent(app, opened)
            escalated = opened if sent >= opened else None
        steps_s, steps_cpu = time.perf_counter() - started, time.process_time() - cpu
        by_step = {name: round(app.engine.metrics.step_seconds(name) - before[name], 2) for name in names}
        if profile is not None:
            profile.disable()
            profile.dump_stats(os.environ["BENCH_PROFILE"])
        if threads:
            stop_thread_profile(os.environ["BENCH_YAPPI"])
        # CPU seconds of this process (every thread; the SMTP server's included) next to the wall
        # time: steadier than wall time when the machine is shared.
        return {"backend": backend, "incidents": opened, "first_sends": first.done.get("notify"),
                "first_sends_s": round(first_s, 2), "first_sends_cpu_s": round(first_cpu, 2),
                "escalations": escalated, "escalation_sends": sent, "driven_by": "tick()" if args.tick else "loop",
                "escalation_steps_s": round(steps_s, 2), "escalation_steps_cpu_s": round(steps_cpu, 2),
                "escalation_seconds_by_step": by_step}
    finally:
        await app.engine.stop()
        await app.committer.close()
        await app.db.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


async def run_loop_until_sent(app: Any, expected: int, within: float = 600.0) -> int:
    """Start the engine's loop (the clock has just passed every escalation's delay), wait until
    ``expected`` more emails are recorded as sent (at most ``within`` seconds), stop it: how many
    were."""
    metrics = app.engine.metrics
    before = metrics.sends("email", "sent")
    app.engine.start()
    try:
        app.engine.wake()
        with suppress(TimeoutError):
            async with asyncio.timeout(within):
                # The metrics counter has no event to wait on: look every 50 ms (reading it makes
                # prometheus_client collect the whole registry: looking every 5 ms cost the
                # engine a third of its CPU in this very process).
                while metrics.sends("email", "sent") - before < expected:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
    finally:
        await app.engine.stop()
    return int(metrics.sends("email", "sent") - before)


def steps(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    # The SMTP server in a process of its own, as a real one is: its CPU is not counted as Tocsin's.
    sink = SinkProcess(free_port())
    received = 0
    try:
        result = asyncio.run(bulk_steps(args, backend, sink.port))
    finally:
        received = sink.stop()
    return result | {"emails_received": received}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spawn", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--part", choices=["latency", "steps", "both"], default="both")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/tocsin_bench_engine")
    p.add_argument("--incidents", type=int, default=500, help="latency: triggers sent")
    p.add_argument("--rate", type=float, default=50.0, help="latency: triggers per second")
    p.add_argument("--steps", type=int, default=10_000, help="steps: incidents escalated at once")
    p.add_argument("--keep", action="store_true", help="keep the spawned server's temp dir")
    p.add_argument("--tick", action="store_true",
                   help="steps: drive the escalations with Engine.tick() (every step each round) "
                        "instead of the engine's own loop")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    backends = ["sqlite", "postgres"] if args.spawn == "both" else [args.spawn]
    out: dict[str, Any] = {"machine": machine_info(), "latency": {}, "steps": {}}
    for backend in backends:
        if args.part in ("latency", "both"):
            out["latency"][backend] = latency(args, backend)
            print(json.dumps({"latency": out["latency"][backend]}), flush=True)
        if args.part in ("steps", "both"):
            out["steps"][backend] = steps(args, backend)
            print(json.dumps({"steps": out["steps"][backend]}), flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
