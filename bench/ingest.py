#!/usr/bin/env python3
"""Load generator for Tocsin's PagerDuty Events API v2 endpoint (POST /v2/enqueue).

Lean on purpose: it shares a 2-core box with the server, so it speaks raw HTTP/1.1 over
asyncio streams with pre-encoded requests instead of going through an HTTP client library
(bench/ingest_load.py). This script spawns the server (or finds one running), runs the load,
checks what was stored and reports.
Usage: see bench/README.md, e.g. `.venv/bin/python bench/ingest.py --spawn sqlite --verify`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx  # setup and verification only, never on the hot path
from common import LOCAL_HOSTS, free_port, machine_info, recreate_pg  # bench/ is the script's directory
from ingest_load import loop_factory, run_load
from server_process import cpu_seconds, initialise, peak_rss_mb, settled_cpu_seconds, start, stop, wait_health
from smtp_sink import SinkProcess

REPO = Path(__file__).resolve().parent.parent


def incident_total(url: str, api_key: str) -> int:
    r = httpx.get(f"{url}/incidents", params={"total": "true", "limit": 1, "date_range": "all"}, timeout=10,
                  headers={"Authorization": f"Token token={api_key}",
                           "Accept": "application/vnd.pagerduty+json;version=2"})
    r.raise_for_status()
    return int(r.json()["total"])


def wait_incidents(url: str, api_key: str, expected: int, baseline: int) -> int:
    """Events are processed after the 202, so poll until the total stops growing (60 s max)."""
    last, stable, total = -1, 0, 0
    for _ in range(120):
        total = incident_total(url, api_key) - baseline
        stable = stable + 1 if total == last else 0
        if stable >= (4 if total >= expected else 12):  # flat for 2 s, or 6 s if still short
            break
        last = total
        time.sleep(0.5)
    return total


def spawn_and_bench(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    tmp, port = Path(tempfile.mkdtemp(prefix=f"tocsin-bench-{backend}-")), free_port()
    url, proc, engine = f"http://127.0.0.1:{port}", None, None
    db_url = f"sqlite:///{tmp}/bench.db" if backend == "sqlite" else args.pg_url
    env = {**os.environ, "TOCSIN_DATABASE_URL": db_url, "TOCSIN_HOST": "127.0.0.1", "TOCSIN_PORT": str(port),
           "TOCSIN_EVENTS_RATE_LIMIT": "0", "TOCSIN_PUBLIC_URL": url}
    # With an engine, its pages go to a real SMTP server in a process of its own (an engine with no
    # channel configured fails every send and logs each failure: not what a deployment does).
    sink = SinkProcess(free_port()) if args.engine != "none" else None
    if sink is not None:
        env.update({"TOCSIN_SMTP_HOST": "127.0.0.1", "TOCSIN_SMTP_PORT": str(sink.port),
                    "TOCSIN_SMTP_SECURITY": "none", "TOCSIN_EMAIL_FROM": "tocsin@bench.test"})
    try:
        if backend == "postgres":
            asyncio.run(recreate_pg(args.pg_url))
        creds = initialise(env, REPO)
        serve = ["serve"] if args.engine == "inside" else ["serve", "--no-engine"]
        proc = start(env, REPO, tmp / "server.log", *serve)
        if args.engine == "apart":  # the engine in its own process, as operators can run it
            engine = start(env, REPO, tmp / "server.log", "engine")
        if not wait_health(url, proc):
            tail = (tmp / "server.log").read_text()[-3000:]
            sys.exit(f"tocsin serve did not become healthy; log tail:\n{tail}")
        res = bench(args, url, creds["integration_key"], proc.pid, creds["api_key"],
                    engine.pid if engine is not None else None) | {"backend": backend}
    finally:
        stop(proc)
        stop(engine)
        if sink is not None:
            sink.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if sink is not None:  # how the pages went out: a bundle is one message for many incidents
        res["smtp"] = {"messages": sink.seen.get("messages"), "sessions": sink.seen.get("sessions")}
    return res


def bench(args: argparse.Namespace, url: str, key: str, pid: int | None,
          api_key: str | None, engine_pid: int | None = None) -> dict[str, Any]:
    try:  # the baseline matters in --url mode: an old server already holds incidents
        baseline = incident_total(url, api_key) if args.verify and api_key else None
    except (httpx.HTTPError, KeyError, ValueError) as e:
        sys.exit(f"--verify: GET {url}/incidents failed before the run: {e!r}")
    pids = [p for p in (pid, engine_pid) if p]
    cpu_before = cpu_seconds(pids)
    with asyncio.Runner(loop_factory=loop_factory()) as r:
        res = r.run(run_load(args, url, key))
    res |= {"url": url, "connections": args.connections, "server_pid": pid}
    cpu_after = settled_cpu_seconds(pids) if pids else None
    if cpu_before is not None and cpu_after is not None and res["accepted_incl_warmup"]:
        # Every CPU second the server (and a separate engine) spent on the run, processing and
        # paging included, per accepted event: steadier than events/s on a shared machine.
        res["server_cpu_ms_per_event"] = round(1000 * (cpu_after - cpu_before) / res["accepted_incl_warmup"], 3)
    if api_key and baseline is not None:
        try:
            res["incidents"] = wait_incidents(url, api_key, res["expected_new_alerts"], baseline)
        except (httpx.HTTPError, KeyError, ValueError) as e:  # keep the load figures anyway
            res["incidents"] = f"verify failed: {e!r}"
    res["server_peak_rss_mb"] = peak_rss_mb(pid)  # read late: processing goes on after the 202s
    return res


def print_table(res: dict[str, Any]) -> None:
    lat = res["latency_ms"]
    rows = [("backend", res.get("backend", "external")), ("url", res["url"]),
            ("connections", res["connections"]), ("measured s", res["elapsed_s"]),
            ("requests", res["requests"]), ("accepted (2xx)", res["accepted"]),
            ("events/s", res["events_per_s"]), ("non-2xx", res["non_2xx"] or "-"),
            ("errors", res["errors"] or "-"),
            ("latency ms p50/p90/p99/max", f"{lat['p50']} / {lat['p90']} / {lat['p99']} / {lat['max']}"),
            ("server peak RSS MB", res["server_peak_rss_mb"]), ("client CPU s", res["client_cpu_s"]),
            ("server CPU ms per event", res.get("server_cpu_ms_per_event", "-"))]
    if "incidents" in res:
        got = f"{res['accepted_incl_warmup']} / {res['incidents']}"
        rows.append(("accepted incl. warmup / incidents", f"{got} (expected {res['expected_new_alerts']})"))
    if "smtp" in res:
        rows.append(("emails / SMTP sessions", f"{res['smtp']['messages']} / {res['smtp']['sessions']}"))
    print("\n".join(f"  {name:<34} {val}" for name, val in rows))


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="running server, e.g. http://127.0.0.1:8000")
    p.add_argument("--routing-key", help="integration key, for --url mode")
    p.add_argument("--server-pid", type=int, help="pid whose peak RSS (VmHWM) to report, for --url mode")
    p.add_argument("--api-key", help="REST API key for --verify, for --url mode")
    p.add_argument("--spawn", choices=["sqlite", "postgres", "both"], help="start a fresh server per backend")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/tocsin_bench")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--requests", type=int, help="measure this many requests instead of --duration")
    p.add_argument("--dedup-ratio", type=float, default=0.0, help="share of events reusing 8 dedup keys")
    p.add_argument("--verify", action="store_true", help="afterwards, poll the REST incidents total")
    p.add_argument("--engine", choices=["inside", "apart", "none"], default="inside",
                   help="where the paging engine runs: in `tocsin serve` (default), in its own "
                        "`tocsin engine` process, or not at all (`serve --no-engine`)")
    p.add_argument("--keep", action="store_true", help="keep the spawned server's temp dir (db, log)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    a = p.parse_args()
    if not (a.spawn or (a.url and a.routing_key)):
        p.error("need --spawn BACKEND, or --url URL --routing-key KEY")
    if a.url and urlsplit(a.url).hostname not in LOCAL_HOSTS:
        p.error("--url must point at 127.0.0.1 or localhost")
    if a.verify and not (a.spawn or a.api_key):
        p.error("--verify with --url needs --api-key")
    if not (0 < a.connections <= 1024 and a.duration > 0 and a.warmup >= 0 and 0 <= a.dedup_ratio <= 1):
        p.error("need 0 < connections <= 1024, duration > 0, warmup >= 0, 0 <= dedup-ratio <= 1")
    return a


def main() -> None:
    args = parse_args()
    if args.spawn:
        backends = ["sqlite", "postgres"] if args.spawn == "both" else [args.spawn]
        runs = {b: spawn_and_bench(args, b) for b in backends}
    else:
        runs = {"external": bench(args, args.url, args.routing_key, args.server_pid, args.api_key)}
    out: dict[str, Any] = {"machine": machine_info(), "runs": runs}
    if len(runs) == 2:
        s, pg = runs["sqlite"], runs["postgres"]
        out["pg_over_sqlite"] = {"events_per_s": ratio(pg["events_per_s"], s["events_per_s"]),
                                 "p50": ratio(pg["latency_ms"]["p50"], s["latency_ms"]["p50"]),
                                 "p99": ratio(pg["latency_ms"]["p99"], s["latency_ms"]["p99"]),
                                 "peak_rss": ratio(pg["server_peak_rss_mb"], s["server_peak_rss_mb"])}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        m = out["machine"]
        print(f"machine: {m['platform']} | nproc {m['nproc']} | {m['cpu_model']} | python {m['python']}")
        for res in runs.values():
            print_table(res)
        if "pg_over_sqlite" in out:
            print("PG/SQLite ratio: " + ", ".join(f"{k} {v}" for k, v in out["pg_over_sqlite"].items()))
    if any(r["accepted"] == 0 for r in runs.values()):
        sys.exit("no event was accepted: see non-2xx / errors above")  # a dead run must not pass as a number


if __name__ == "__main__":
    main()
