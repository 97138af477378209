#!/usr/bin/env python3
"""Read latency of the REST API over a large account: ``GET /incidents`` as the web UI's list and
dashboards will call it, and ``GET /log_entries``.

Loads N incidents (default 100,000) once per backend into a cached database, then starts a real
``tocsin serve`` on it and measures each scenario with a few keep-alive connections.

How the data is loaded (and why): services, users, teams, policies and integrations are made
through the REST API of the spawned server, like an administrator would; incidents, their
alert, their log entries and assignments are then bulk-inserted with the project's own ORM
tables (``tocsin.incidents.models``), shaped as the events processor and the REST logic write
them. Loading 100k incidents through the Events API takes ~40 minutes on this 2-core machine
and produces only triggered incidents; the bulk load takes about a minute and gives the mix a
real account has (70 % resolved, 20 % triggered, 10 % acknowledged; 8 services of unequal
volume; open incidents assigned to 1-2 of 20 users; 10 % with a priority; 80 % high urgency),
spread over the 20 days before the load, so the default 30-day window covers them all.

Usage: see bench/README.md, e.g. `.venv/bin/python bench/rest.py --spawn both`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self, cast
from urllib.parse import urlencode, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared plumbing below
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # this checkout's tocsin
from common import free_port, machine_info, percentile, recreate_pg
from ingest_load import loop_factory, read_response
from server_process import stop, wait_health

REPO = Path(__file__).resolve().parent.parent
SERVICES, USERS, TEAMS = 8, 20, 4
CACHE_DAYS = 7  # older data would start falling out of the default 30-day window
CHUNK = 2000


def scenarios(service_id: str) -> dict[str, str]:
    """Name -> path and query of each measured request."""
    def q(**kw: Any) -> str:
        return urlencode([(k.replace("__", "[]"), v) for k, vs in kw.items()
                          for v in (vs if isinstance(vs, list) else [vs])])
    return {
        "incidents (25, default)": "/incidents",
        "triggered, 100, created_at:desc":
            "/incidents?" + q(statuses__="triggered", limit=100, sort_by="created_at:desc"),
        "offset 5000, total=true": "/incidents?" + q(offset=5000, total="true"),
        "open (triggered+acknowledged)": "/incidents?" + q(statuses__=["triggered", "acknowledged"]),
        "one service, 100": "/incidents?" + q(service_ids__=service_id, limit=100),
        "log_entries (25)": "/log_entries",
    }


# ---------------------------------------------------------------- loading

def setup_account(url: str, api_key: str, admin_email: str) -> dict[str, Any]:
    """Users, teams, policies, services and their integrations, through the REST API."""
    headers = {"Authorization": f"Token token={api_key}", "From": admin_email,
               "Accept": "application/vnd.pagerduty+json;version=2"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            r = c.post(path, json=body)
            assert r.status_code in (200, 201), f"POST {path}: {r.status_code} {r.text}"
            return dict(r.json())
        users = [post("/users", {"user": {"name": f"Responder {i:02d}", "email": f"r{i:02d}@bench.test"}})["user"]["id"]
                 for i in range(USERS)]
        teams = [post("/teams", {"team": {"name": f"Team {i}"}})["team"]["id"] for i in range(TEAMS)]
        services: list[dict[str, str]] = []
        for i in range(SERVICES):
            targets = [{"id": users[(i * 2 + k) % USERS], "type": "user_reference"} for k in range(2)]
            policy = post("/escalation_policies", {"escalation_policy": {
                "name": f"Policy {i}", "teams": [{"id": teams[i % TEAMS], "type": "team_reference"}],
                "escalation_rules": [{"escalation_delay_in_minutes": 30, "targets": targets}]}})["escalation_policy"]
            service = post("/services", {"service": {"name": f"Service {i}", "escalation_policy": {
                "id": policy["id"], "type": "escalation_policy_reference"}}})["service"]
            integration = post(f"/services/{service['id']}/integrations",
                               {"integration": {"type": "events_api_v2_inbound_integration"}})["integration"]
            services.append({"id": service["id"], "policy": policy["id"], "integration": integration["id"]})
        priorities = [p["id"] for p in c.get("/priorities").json()["priorities"]]
    return {"users": users, "teams": teams, "services": services, "priorities": priorities}


def incident_rows(n: int, account: dict[str, Any], now: datetime, seed: int) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``n`` incidents, oldest first (numbers grow with time, as they do live)."""
    from tocsin.ids import new_id

    rng = random.Random(seed)
    users, services, priorities = account["users"], account["services"], account["priorities"]
    weights = [2 ** (SERVICES - i) for i in range(SERVICES)]  # a few noisy services, a long tail
    start = now - timedelta(days=20)
    step = timedelta(days=20) / n
    out: dict[str, list[dict[str, Any]]] = {"incidents": [], "alerts": [], "log_entries": [], "assignments": []}

    def log(type_: str, incident: str, alert: str, service: str, at: datetime, agent: dict[str, str],
            summary: str) -> None:
        out["log_entries"].append({"id": new_id(), "type": type_, "incident_id": incident, "alert_id": alert,
                                   "service_id": service, "created_at": at, "summary": summary, "agent": agent,
                                   "channel": {"type": "api" if agent["type"] != "user_reference" else "web_api",
                                               "summary": summary}})

    for number in range(1, n + 1):
        svc = rng.choices(services, weights)[0]
        at = start + step * number
        incident, alert, key = new_id(), new_id(), f"bench-{number}"
        r = rng.random()
        status = "resolved" if r < 0.7 else "triggered" if r < 0.9 else "acknowledged"
        integration = {"id": svc["integration"], "type": "events_api_v2_inbound_integration_reference"}
        responders = rng.sample(users, rng.choice((1, 1, 1, 2)))
        acked_at = at + timedelta(minutes=rng.randrange(1, 30))
        resolved_at = acked_at + timedelta(minutes=rng.randrange(1, 240)) if status == "resolved" else None
        changed_by: dict[str, str] = integration
        acks: list[dict[str, Any]] = []
        log("trigger_log_entry", incident, alert, svc["id"], at, integration, "Triggered through the API.")
        if status != "triggered":
            changed_by = {"id": responders[0], "type": "user_reference"}
            acks = [{"at": acked_at.isoformat(), "acknowledger": changed_by}]
            log("acknowledge_log_entry", incident, alert, svc["id"], acked_at, changed_by, "Acknowledged.")
        if resolved_at is not None:
            changed_by = integration if rng.random() < 0.5 else changed_by
            log("resolve_log_entry", incident, alert, svc["id"], resolved_at, changed_by, "Resolved.")
        open_ = status != "resolved"
        out["incidents"].append({
            "id": incident, "number": number, "title": f"bench: disk {number % 7} full on host-{number % 13}",
            "description": None, "status": status, "urgency": "high" if rng.random() < 0.8 else "low",
            "service_id": svc["id"], "incident_key": key, "escalation_policy_id": svc["policy"],
            "priority_id": rng.choice(priorities) if priorities and rng.random() < 0.1 else None,
            "acknowledgements": acks if status == "acknowledged" else [],
            "assignments": [{"at": at.isoformat(), "assignee": {"id": u, "type": "user_reference"}}
                            for u in responders] if open_ else [],
            "created_at": at, "updated_at": resolved_at or (acked_at if acks else at),
            "last_status_change_at": resolved_at or (acked_at if acks else at),
            "last_status_change_by": changed_by, "resolved_at": resolved_at,
        })
        if open_:
            out["assignments"] += [{"incident_id": incident, "user_id": u, "at": at} for u in responders]
        out["alerts"].append({
            "id": alert, "incident_id": incident, "integration_id": svc["integration"], "service_id": svc["id"],
            "dedup_key": key, "status": "resolved" if resolved_at else "triggered", "severity": "error",
            "summary": f"disk full on host-{number % 13}", "created_at": at, "resolved_at": resolved_at,
            "body": {"summary": f"disk full on host-{number % 13}", "source": f"host-{number % 13}",
                     "severity": "error", "custom_details": {"free_mb": number % 1000}},
        })
    return out


async def bulk_load(db_url: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    from sqlalchemy import Table, insert, text, update

    from tocsin.db.sequences import Sequence
    from tocsin.db.session import Database
    from tocsin.incidents.models import INCIDENT_NUMBERS, Alert, Incident, IncidentAssignment, LogEntry

    db = Database(db_url)
    try:
        for table, key in ((Incident, "incidents"), (Alert, "alerts"), (LogEntry, "log_entries"),
                           (IncidentAssignment, "assignments")):
            for i in range(0, len(rows[key]), CHUNK):
                async with db.transaction() as session:
                    await session.execute(insert(cast(Table, table.__table__)), rows[key][i:i + CHUNK])
        async with db.transaction() as session:  # later incidents continue the numbering
            await session.execute(update(Sequence).where(Sequence.name == INCIDENT_NUMBERS)
                                  .values(value=len(rows["incidents"])))
        # PostgreSQL's autovacuum would soon gather statistics; SQLite has none unless someone
        # runs ANALYZE, which Tocsin does not, so its plans are measured without them.
        if not db.is_sqlite:
            async with db.engine.connect() as conn:
                await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
    finally:
        await db.dispose()


# ---------------------------------------------------------------- server

class Server:
    """``tocsin serve`` on ``db_url`` in a temporary directory, for one ``with`` block."""

    def __init__(self, db_url: str) -> None:
        self.db_url, self.port = db_url, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="tocsin-bench-rest-"))
        self.env = {**os.environ, "TOCSIN_DATABASE_URL": db_url, "TOCSIN_HOST": "127.0.0.1",
                    "TOCSIN_PORT": str(self.port), "TOCSIN_PUBLIC_URL": self.url,
                    "TOCSIN_EVENTS_RATE_LIMIT": "0", "TOCSIN_REST_RATE_LIMIT": "0"}
        self.proc: subprocess.Popen[bytes] | None = None

    def init(self) -> dict[str, Any]:
        init = subprocess.run([sys.executable, "-m", "tocsin", "init", "--json"], env=self.env, cwd=REPO,
                              capture_output=True, text=True, timeout=300, check=False)
        if init.returncode != 0 or "{" not in init.stdout:
            sys.exit(f"tocsin init failed ({init.returncode}):\n{(init.stderr or init.stdout)[-2000:]}")
        creds, _ = json.JSONDecoder().raw_decode(init.stdout[init.stdout.index("{"):])
        return dict(creds)

    def __enter__(self) -> Self:
        with open(self.tmp / "server.log", "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "tocsin", "serve"], env=self.env, cwd=REPO,
                                         stdout=log, stderr=subprocess.STDOUT)
        if not wait_health(self.url, self.proc):
            sys.exit(f"tocsin serve did not become healthy:\n{(self.tmp / 'server.log').read_text()[-3000:]}")
        return self

    def __exit__(self, *_: object) -> None:
        stop(self.proc)
        shutil.rmtree(self.tmp, ignore_errors=True)


def prepare(args: argparse.Namespace, backend: str) -> tuple[str, dict[str, Any]]:
    """The database URL and its account (credentials, ids), loading it unless a fresh cache fits."""
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    meta_path = cache / f"rest-{backend}.json"
    db_url = f"sqlite:///{cache.resolve()}/rest-sqlite.db" if backend == "sqlite" else args.pg_url
    meta: dict[str, Any] | None = json.loads(meta_path.read_text()) if meta_path.exists() else None
    fresh = (meta is not None and not args.reload and meta["incidents"] == args.incidents
             and time.time() - meta["loaded_at"] < CACHE_DAYS * 86400
             and (backend != "sqlite" or (cache / "rest-sqlite.db").exists()))
    if fresh and meta is not None:
        from tocsin.db.migrate import upgrade

        upgrade(db_url)  # new migrations (indexes) apply to the cached data
        print(f"[{backend}] cached database ({meta['incidents']} incidents, loaded "
              f"{datetime.fromtimestamp(meta['loaded_at'], UTC):%Y-%m-%d %H:%M} UTC)", flush=True)
        return db_url, meta
    began = time.perf_counter()
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (cache / f"rest-sqlite.db{suffix}").unlink(missing_ok=True)
    else:
        asyncio.run(recreate_pg(args.pg_url))
    server = Server(db_url)
    creds = server.init()
    with server:
        account = setup_account(server.url, creds["api_key"], creds["admin_email"])
    rows = incident_rows(args.incidents, account, datetime.now(UTC), args.seed)
    asyncio.run(bulk_load(db_url, rows))
    meta = {"incidents": args.incidents, "loaded_at": time.time(), "api_key": creds["api_key"],
            "admin_email": creds["admin_email"], "services": account["services"],
            "rows": {k: len(v) for k, v in rows.items()}}
    meta_path.write_text(json.dumps(meta, indent=2))
    print(f"[{backend}] loaded {meta['rows']} in {time.perf_counter() - began:.0f} s", flush=True)
    return db_url, meta


# ---------------------------------------------------------------- measuring

async def measure(url: str, path: str, api_key: str, args: argparse.Namespace) -> dict[str, Any]:
    """``args.connections`` keep-alive connections send ``path`` back to back: ``args.warmup`` s
    unmeasured, then ``args.duration`` s measured."""
    u = urlsplit(url)
    request = (f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: Token token={api_key}\r\n"
               "Accept: application/vnd.pagerduty+json;version=2\r\nConnection: keep-alive\r\n\r\n").encode()
    start = time.perf_counter()
    measure_from, end = start + args.warmup, start + args.warmup + args.duration
    lat: list[float] = []
    codes: dict[int, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(u.hostname, u.port)
        try:
            while (t0 := time.perf_counter()) < end:
                writer.write(request)
                code, _ = await read_response(reader)
                if t0 >= measure_from:
                    lat.append(time.perf_counter() - t0)
                    codes[code] = codes.get(code, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(args.connections)))
    def ms(p: float) -> float:
        return round(percentile(lat, p) * 1000, 1) if lat else float("nan")

    return {"requests": len(lat), "per_s": round(len(lat) / args.duration, 1), "status": codes,
            "p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "max": ms(1.0)}


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    db_url, meta = prepare(args, backend)
    results: dict[str, Any] = {}
    with Server(db_url) as server:
        for name, path in scenarios(meta["services"][0]["id"]).items():
            if args.only and not any(o in name for o in args.only):
                continue
            with asyncio.Runner(loop_factory=loop_factory()) as runner:
                results[name] = runner.run(measure(server.url, path, meta["api_key"], args)) | {"path": path}
            r = results[name]
            print(f"[{backend}] {name:<34} p50 {r['p50']:>6} p90 {r['p90']:>6} p99 {r['p99']:>6} ms"
                  f"  {r['per_s']:>6}/s  {r['status']}", flush=True)
    return {"incidents": meta["incidents"], "rows": meta.get("rows"), "scenarios": results}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spawn", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--incidents", type=int, default=100_000)
    p.add_argument("--cache", default=str(REPO / ".bench-cache"),
                   help="directory holding the loaded SQLite file and each backend's credentials")
    p.add_argument("--reload", action="store_true", help="load again even if the cache fits")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/tocsin_bench_rest",
                   help="dropped and recreated when (re)loading; kept between runs as the cache")
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per scenario")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds per scenario")
    p.add_argument("--only", action="append", help="run only scenarios whose name contains this")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = p.parse_args()
    if not (args.incidents > 0 and 0 < args.connections <= 64 and args.duration > 0 and args.warmup >= 0):
        p.error("need incidents > 0, 0 < connections <= 64, duration > 0, warmup >= 0")
    m = machine_info()
    print(f"machine: {m['platform']} | nproc {m['nproc']} | {m['cpu_model']} | python {m['python']} | "
          f"{args.connections} connections, {args.duration:g} s per scenario", flush=True)
    backends = ["sqlite", "postgres"] if args.spawn == "both" else [args.spawn]
    runs = {b: run_backend(args, b) for b in backends}
    if args.json:
        print(json.dumps({"machine": m, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
