#!/usr/bin/env python3
"""Load generator for Tocsin's PagerDuty Events API v2 endpoint (POST /v2/enqueue).

Lean on purpose: it shares a 2-core box with the server, so it speaks raw HTTP/1.1 over
asyncio streams with pre-encoded requests instead of going through an HTTP client library.
Usage: see bench/README.md, e.g. `.venv/bin/python bench/ingest.py --spawn sqlite --verify`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx  # setup and verification only, never on the hot path

REPO = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
POOL_SIZE = 64  # distinct bodies, so the server never sees one payload over and over
SHARED_KEYS = 8  # the small set of dedup keys reused when --dedup-ratio > 0
MAX_ERRORS = 50  # per connection: a dead server must not keep workers reconnecting
REQUESTS_CAP_S = 300.0  # --requests mode still ends after this long
KEY_MARK = "#" * 23  # as wide as every real dedup key, so Content-Length is fixed up front
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass
class Stats:  # one per connection, merged at the end: no shared mutable state on the hot path
    lat_ns: list[int] = field(default_factory=list)  # measured window only
    status: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    ok_total: int = 0  # 2xx including warmup: all of these should end up stored
    unique_ok: int = 0
    shared_ok: set[int] = field(default_factory=set)


@dataclass
class Clock:
    measure_ns: int  # requests sent before this are warmup and are not recorded
    end_ns: int
    remaining: int | None  # --requests budget, spent only in the measured window


def build_templates(netloc: str, routing_key: str) -> list[tuple[bytes, bytes]]:
    """Pre-encode each request as (prefix, suffix) around its dedup key."""
    out = []
    for i in range(POOL_SIZE):
        body = json.dumps({
            "routing_key": routing_key, "event_action": "trigger", "dedup_key": KEY_MARK,
            "payload": {"summary": f"bench: disk {i % 7} full on host-{i % 13}", "source": "bench",
                        "severity": "error", "custom_details": {"variant": i, "bench": True}},
        }, separators=(",", ":")).encode()
        head = (f"POST /v2/enqueue HTTP/1.1\r\nHost: {netloc}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n").encode()
        pre, post = body.split(KEY_MARK.encode(), 1)
        out.append((head + pre, post))
    return out


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Return (status, server_wants_close), reading just enough to stay in sync."""
    head = await reader.readuntil(b"\r\n\r\n")
    status, lower = int(head[9:12]), head.lower()
    i = lower.find(b"\r\ncontent-length:")
    if i < 0:  # JSON responses always carry one; chunked bodies are not worth the code here
        raise ValueError("response without Content-Length")
    await reader.readexactly(int(head[i + 17:lower.index(b"\r\n", i + 2)]))
    return status, b"\r\nconnection: close" in lower


def close(conn: Conn | None) -> None:
    if conn is not None:
        conn[1].close()


async def worker(wid: int, url: SplitResult, tpl: list[tuple[bytes, bytes]], run: bytes,
                 ratio: float, clock: Clock, st: Stats) -> None:
    rng, now, conn = random.Random(wid), time.perf_counter_ns, None
    for n in range(10**9):  # the real bounds: the clock, the --requests budget, the error cap
        t0 = now()
        if t0 >= clock.end_ns or st.errors.total() >= MAX_ERRORS:
            break
        measured = t0 >= clock.measure_ns
        if measured and clock.remaining is not None:
            if clock.remaining <= 0:
                break
            clock.remaining -= 1  # single-threaded event loop: no lock needed
        shared = rng.randrange(SHARED_KEYS) if ratio > 0 and rng.random() < ratio else -1
        key = b"%s-shr-%010d" % (run, shared) if shared >= 0 else b"%s-%03d-%010d" % (run, wid, n)
        pre, post = tpl[n % POOL_SIZE]
        try:
            conn = conn or await asyncio.open_connection(url.hostname, url.port or 80)
            conn[1].write(pre + key + post)
            code, must_close = await read_response(conn[0])
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            st.errors[type(e).__name__] += 1
            close(conn)
            conn = None
            await asyncio.sleep(0.05)  # don't hammer a server that is refusing or restarting
            continue
        if measured:
            st.lat_ns.append(now() - t0)
            st.status[code] += 1
        if 200 <= code < 300:
            st.ok_total += 1
            if shared >= 0:
                st.shared_ok.add(shared)
            else:
                st.unique_ok += 1
        if must_close:
            close(conn)
            conn = None
    close(conn)


async def run_load(args: argparse.Namespace, url: str, routing_key: str) -> dict[str, Any]:
    u = urlsplit(url)
    run = os.urandom(4).hex().encode()  # fresh dedup keys on every run, even against an old server
    tpl = build_templates(u.netloc, routing_key)
    span = args.duration if args.requests is None else REQUESTS_CAP_S
    measure = time.perf_counter_ns() + int(args.warmup * 1e9)
    clock = Clock(measure, measure + int(span * 1e9), args.requests)
    stats = [Stats() for _ in range(args.connections)]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    tasks = [asyncio.create_task(worker(i, u, tpl, run, args.dedup_ratio, clock, s))
             for i, s in enumerate(stats)]
    # Workers only look at the clock between requests, so a server hanging mid-response needs this cap.
    _, pending = await asyncio.wait(tasks, timeout=args.warmup + span + 15)
    for p in pending:
        p.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    elapsed = max(time.perf_counter_ns() - measure, 1) / 1e9
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    return summarize(stats, elapsed, cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime)


def summarize(stats: list[Stats], elapsed: float, client_cpu: float) -> dict[str, Any]:
    lat = sorted(x for s in stats for x in s.lat_ns)
    status = sum((s.status for s in stats), Counter[int]())
    accepted = sum(c for k, c in status.items() if 200 <= k < 300)

    def ms(p: float) -> float | None:  # nearest-rank percentile
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] / 1e6, 3) if lat else None

    return {"requests": len(lat), "accepted": accepted, "elapsed_s": round(elapsed, 3),
            "events_per_s": round(accepted / elapsed, 1),
            "non_2xx": {str(k): c for k, c in sorted(status.items()) if not 200 <= k < 300},
            "errors": dict(sum((s.errors for s in stats), Counter[str]())),
            "latency_ms": {"p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "max": ms(1.0)},
            "accepted_incl_warmup": sum(s.ok_total for s in stats),
            "expected_new_alerts": sum(s.unique_ok for s in stats)
            + len(set[int]().union(*(s.shared_ok for s in stats))),
            "client_cpu_s": round(client_cpu, 2)}


def peak_rss_mb(pid: int | None) -> float | None:
    """VmHWM: the process's peak resident set size since it started."""
    try:
        status = Path(f"/proc/{pid}/status").read_text() if pid else ""
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(m.group(1)) / 1024, 1) if m else None


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds the processes have used so far (Linux /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def settled_cpu_seconds(pids: list[int], quiet: float = 0.05, limit: float = 120.0) -> float | None:
    """The processes' CPU seconds once they have gone quiet (under ``quiet`` CPU seconds in a
    second): the events accepted are processed and the engine has paged for them."""
    deadline, last = time.monotonic() + limit, cpu_seconds(pids)
    while last is not None and time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(pids)
        if now is None or now - last < quiet:
            return now
        last = now
    return last


def machine_info() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return {"platform": platform.platform(), "python": platform.python_version(),
            "nproc": len(os.sched_getaffinity(0)), "cpu_model": m.group(1) if m else "unknown"}


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


async def recreate_pg(pg_url: str) -> None:
    u = urlsplit(pg_url)
    db = u.path.lstrip("/")
    if not re.fullmatch(r"\w+", db) or u.hostname not in LOCAL_HOSTS:
        sys.exit(f"refusing --pg-url {pg_url!r}: need a local host and a plain database name")
    import asyncpg  # only this mode needs it

    conn = await asyncpg.connect(urlunsplit(u._replace(path="/postgres")), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')  # FORCE: kick stale sessions
        await conn.execute(f'CREATE DATABASE "{db}"')
    finally:
        await conn.close()


def spawn_and_bench(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    tmp, port = Path(tempfile.mkdtemp(prefix=f"tocsin-bench-{backend}-")), free_port()
    url, proc, engine = f"http://127.0.0.1:{port}", None, None
    db_url = f"sqlite:///{tmp}/bench.db" if backend == "sqlite" else args.pg_url
    env = {**os.environ, "TOCSIN_DATABASE_URL": db_url, "TOCSIN_HOST": "127.0.0.1", "TOCSIN_PORT": str(port),
           "TOCSIN_EVENTS_RATE_LIMIT": "0", "TOCSIN_PUBLIC_URL": url}
    try:
        if backend == "postgres":
            asyncio.run(recreate_pg(args.pg_url))
        # cwd=REPO: `python -m` then imports this checkout's tocsin even if it isn't installed.
        init = subprocess.run([sys.executable, "-m", "tocsin", "init", "--json"], check=False, env=env,
                              cwd=REPO, capture_output=True, text=True, timeout=120)
        if init.returncode != 0 or "{" not in init.stdout:
            sys.exit(f"tocsin init failed ({init.returncode}):\n{(init.stderr or init.stdout)[-2000:]}")
        creds, _ = json.JSONDecoder().raw_decode(init.stdout[init.stdout.index("{"):])  # tolerate log lines
        serve = ["serve"] if args.engine == "inside" else ["serve", "--no-engine"]
        with open(tmp / "server.log", "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "tocsin", *serve], env=env, cwd=REPO,
                                    stdout=log, stderr=subprocess.STDOUT)
            if args.engine == "apart":  # the engine in its own process, as operators can run it
                engine = subprocess.Popen([sys.executable, "-m", "tocsin", "engine"], env=env, cwd=REPO,
                                          stdout=log, stderr=subprocess.STDOUT)
        if not wait_health(url, proc):
            tail = (tmp / "server.log").read_text()[-3000:]
            sys.exit(f"tocsin serve did not become healthy; log tail:\n{tail}")
        return bench(args, url, creds["integration_key"], proc.pid, creds["api_key"],
                     engine.pid if engine is not None else None) | {"backend": backend}
    finally:
        stop(proc)
        stop(engine)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_health(url: str, proc: subprocess.Popen[bytes]) -> bool:
    for _ in range(150):  # 150 x 0.2 s = 30 s
        if proc.poll() is not None:
            return False  # crashed: no point waiting
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.2)
    return False


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


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


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


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
