#!/usr/bin/env python3
"""Server-side render time of the web UI's open incidents page (``/``, signed in) over 10,000
open incidents, on SQLite and on PostgreSQL (issue 11: p95 <= 100 ms).

For each backend it starts a real ``tocsin serve --no-engine`` on a fresh database (a temporary
SQLite file; the PostgreSQL database ``tocsin_bench_ui``, dropped and recreated), and builds the
account the way production does:

- four more services through the REST API (severity-based urgency, so both urgencies occur);
- ``--incidents`` trigger events through the Events API (``POST /v2/enqueue``, 16 keep-alive
  connections, each event a new dedup key), which the events processor turns into incidents,
  alerts, assignments and log entries; a noisy service gets half of them;
- ``--acknowledged`` of them acknowledged through ``PUT /incidents`` (250 per call);
- the admin's web UI password through ``tocsin user set-password --password-stdin``, and a
  session through the sign-in form.

On PostgreSQL the script then runs ``VACUUM ANALYZE``, as autovacuum soon does after a table
grows by a tenth (without statistics the planner guesses 47 open incidents and hash-joins all
10,000); SQLite gets no ANALYZE, as Tocsin runs none.

The engine is left out (``--no-engine``): with it, 10,000 new incidents are 10,000 pages to send
that would compete for the two cores while the page is timed; the page reads the same rows.

Each scenario then sends ``--requests`` GETs (after ``--warmup`` unmeasured ones) back to back
over one keep-alive connection and reports p50/p95/p99/max. On loopback with a raw-socket
client the round trip is the server's time plus well under a millisecond, so these are the
server-side figures. ``--keep`` keeps the SQLite file, to profile the page in-process against it.

Usage:  .venv/bin/python bench/ui_incidents.py --spawn sqlite   (or postgres, or both)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared server plumbing
from common import free_port, machine_info, recreate_pg
from ingest_load import read_response
from server_process import stop, wait_health

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "bench password 11"
ACCEPT = "application/vnd.pagerduty+json;version=2"


# ---------------------------------------------------------------- the account

def rest(url: str, api_key: str, email: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=120, headers={
        "Authorization": f"Token token={api_key}", "From": email, "Accept": ACCEPT})


def more_services(c: httpx.Client, policy_id: str, first_key: str, first_id: str) -> list[tuple[str, str]]:
    """(service id, routing key) of the demo service and four new ones."""
    found = [(first_id, first_key)]
    for n in range(4):
        r = c.post("/services", json={"service": {
            "name": f"Bench service {n}", "escalation_policy": {"id": policy_id, "type": "escalation_policy_reference"},
            "incident_urgency_rule": {"type": "constant", "urgency": "severity_based"}}})
        r.raise_for_status()
        service = r.json()["service"]
        r = c.post(f"/services/{service['id']}/integrations",
                   json={"integration": {"type": "events_api_v2_inbound_integration"}})
        r.raise_for_status()
        integration = r.json()["integration"]
        key = c.get(f"/services/{service['id']}/integrations/{integration['id']}").json()["integration"]
        found.append((service["id"], key["integration_key"]))
    return found


async def send_events(url: str, keys: list[str], count: int, connections: int = 16) -> int:
    """``count`` triggers with fresh dedup keys; half to the first key (a noisy service)."""
    u = urlsplit(url)
    rng = random.Random(11)
    bodies = []
    for n in range(count):
        key = keys[0] if rng.random() < 0.5 else rng.choice(keys[1:])
        payload = {"summary": f"bench: disk {n % 7} full on host-{n % 53}", "source": f"host-{n % 53}",
                   "severity": rng.choice(("critical", "error", "warning", "info")), "custom_details": {"free_mb": n}}
        body = json.dumps({"routing_key": key, "event_action": "trigger", "dedup_key": f"bench-ui-{n}",
                           "payload": payload}).encode()
        bodies.append(b"POST /v2/enqueue HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (u.netloc.encode(), len(body), body))
    accepted = 0

    async def worker(mine: list[bytes]) -> None:
        nonlocal accepted
        reader, writer = await asyncio.open_connection(u.hostname, u.port)
        try:
            for request in mine:
                writer.write(request)
                code, _ = await read_response(reader)
                accepted += 200 <= code < 300
        finally:
            writer.close()

    await asyncio.gather(*(worker(bodies[i::connections]) for i in range(connections)))
    return accepted


def wait_for_incidents(c: httpx.Client, expected: int, limit_s: float = 600) -> int:
    deadline, total = time.monotonic() + limit_s, 0
    while time.monotonic() < deadline:
        r = c.get("/incidents", params={"total": "true", "limit": 1, "date_range": "all"})
        total = int(r.json()["total"])
        if total >= expected:
            break
        time.sleep(1)
    return total


def acknowledge_some(c: httpx.Client, count: int) -> None:
    ids: list[str] = []
    while len(ids) < count:
        r = c.get("/incidents", params={"statuses[]": "triggered", "limit": 100, "offset": len(ids),
                                        "sort_by": "created_at:asc"})
        page = [i["id"] for i in r.json()["incidents"]]
        if not page:
            break
        ids += page
    ids = ids[:count]
    for i in range(0, len(ids), 250):
        r = c.put("/incidents", json={"incidents": [{"id": x, "type": "incident_reference", "status": "acknowledged"}
                                                    for x in ids[i:i + 250]]})
        r.raise_for_status()


async def analyze(pg_url: str) -> None:
    import asyncpg  # only PostgreSQL runs need it

    conn = await asyncpg.connect(pg_url, timeout=10)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def sign_in(url: str, email: str) -> str:
    """The session cookie (``name=value``) after signing in through the form."""
    with httpx.Client(base_url=url, timeout=30) as c:
        form = c.get("/ui/sign-in")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text[:500]
        r = c.post("/ui/sign-in", data={"csrf": token.group(1), "email": email, "password": PASSWORD, "next": "/"})
        assert r.status_code == 303, (r.status_code, r.text[:500])
        return "; ".join(f"{k}={v}" for k, v in c.cookies.items())


# ---------------------------------------------------------------- measuring

async def measure(url: str, path: str, cookie: str, requests: int, warmup: int) -> dict[str, Any]:
    u = urlsplit(url)
    request = (f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nCookie: {cookie}\r\nAccept: text/html\r\n"
               "Connection: keep-alive\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection(u.hostname, u.port)
    lat: list[float] = []
    codes: dict[int, int] = {}
    try:
        for n in range(warmup + requests):
            t0 = time.perf_counter()
            writer.write(request)
            code, _ = await read_response(reader)
            if n >= warmup:
                lat.append(time.perf_counter() - t0)
                codes[code] = codes.get(code, 0) + 1
    finally:
        writer.close()
    lat.sort()

    def ms(p: float) -> float:  # nearest rank
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1)

    return {"requests": len(lat), "status": codes, "p50": ms(0.5), "p95": ms(0.95), "p99": ms(0.99),
            "max": ms(1.0)}


def scenarios(service_id: str) -> dict[str, str]:
    return {
        "open, no filter (/)": "/",
        "live refresh (/?part=list)": "/?part=list",
        "urgency=high + one service": "/?" + urlencode({"urgency": "high", "service": service_id}),
        "assigned to me": "/?mine=1",
        "acknowledged": "/?status=acknowledged",
        "page 100 (rows 2,476-2,500)": "/?page=100",
    }


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    tmp, port = Path(tempfile.mkdtemp(prefix="tocsin-bench-ui-")), free_port()
    url = f"http://127.0.0.1:{port}"
    db_url = f"sqlite:///{tmp}/bench.db" if backend == "sqlite" else args.pg_url
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")},
           "TOCSIN_DATABASE_URL": db_url, "TOCSIN_HOST": "127.0.0.1", "TOCSIN_PORT": str(port),
           "TOCSIN_PUBLIC_URL": url, "TOCSIN_EVENTS_RATE_LIMIT": "0", "TOCSIN_REST_RATE_LIMIT": "0",
           "TOCSIN_LOG_LEVEL": "warning", "PYTHONPATH": str(REPO)}
    proc = None
    try:
        if backend == "postgres":
            asyncio.run(recreate_pg(args.pg_url))

        def tocsin(*argv: str, stdin: str | None = None) -> str:
            done = subprocess.run([sys.executable, "-m", "tocsin", *argv], env=env, cwd=REPO, input=stdin,
                                  capture_output=True, text=True, timeout=300, check=False)
            if done.returncode != 0:
                sys.exit(f"tocsin {' '.join(argv)} failed:\n{(done.stderr or done.stdout)[-2000:]}")
            return done.stdout

        out = tocsin("init", "--json")
        creds, _ = json.JSONDecoder().raw_decode(out[out.index("{"):])
        tocsin("user", "set-password", creds["admin_email"], "--password-stdin", stdin=PASSWORD + "\n")
        with open(tmp / "server.log", "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "tocsin", "serve", "--no-engine"], env=env, cwd=REPO,
                                    stdout=log, stderr=subprocess.STDOUT)
        if not wait_health(url, proc):
            sys.exit(f"tocsin serve did not become healthy:\n{(tmp / 'server.log').read_text()[-3000:]}")
        began = time.perf_counter()
        with rest(url, creds["api_key"], creds["admin_email"]) as c:
            services = more_services(c, creds["escalation_policy_id"], creds["integration_key"], creds["service_id"])
            accepted = asyncio.run(send_events(url, [k for _, k in services], args.incidents))
            made = wait_for_incidents(c, args.incidents)
            acknowledge_some(c, args.acknowledged)
        if backend == "postgres":
            asyncio.run(analyze(args.pg_url))
        setup_s = time.perf_counter() - began
        print(f"[{backend}] {accepted} events accepted, {made} incidents, {args.acknowledged} acknowledged "
              f"in {setup_s:.0f} s", flush=True)
        cookie = sign_in(url, creds["admin_email"])
        results: dict[str, Any] = {}
        for name, path in scenarios(services[0][0]).items():
            r = asyncio.run(measure(url, path, cookie, args.requests, args.warmup))
            results[name] = r | {"path": path}
            print(f"[{backend}] {name:<30} p50 {r['p50']:>6} p95 {r['p95']:>6} p99 {r['p99']:>6} "
                  f"max {r['max']:>6} ms  ({r['requests']} requests, {r['status']})", flush=True)
        return {"incidents": made, "setup_s": round(setup_s), "scenarios": results}
    finally:
        stop(proc)
        if args.keep:
            print(f"[{backend}] kept {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spawn", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--incidents", type=int, default=10_000, help="open incidents to make")
    p.add_argument("--acknowledged", type=int, default=2_000, help="how many of them to acknowledge")
    p.add_argument("--requests", type=int, default=300, help="measured requests per scenario")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured requests per scenario")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/tocsin_bench_ui",
                   help="dropped and recreated on every run")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (SQLite file, server.log)")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = p.parse_args()
    if not (args.incidents > 0 and 0 <= args.acknowledged <= args.incidents and args.requests >= 1):
        p.error("need incidents > 0, 0 <= acknowledged <= incidents, requests >= 1")
    m = machine_info()
    load = os.getloadavg()
    print(f"machine: {m['platform']} | nproc {m['nproc']} | {m['cpu_model']} | python {m['python']} | "
          f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    backends = ["sqlite", "postgres"] if args.spawn == "both" else [args.spawn]
    runs = {b: run_backend(args, b) for b in backends}
    if args.json:
        print(json.dumps({"machine": m, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
