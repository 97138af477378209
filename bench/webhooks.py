#!/usr/bin/env python3
"""Webhooks end to end: trigger event → signed webhook received.

A fresh `tocsin serve` (engine inside; SQLite, or PostgreSQL with `--spawn postgres|both`) with
`TOCSIN_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8` and a webhook subscription (`incident.triggered`)
to a receiver run by this script (`http.server`, a thread per request) that checks every
signature (HMAC-SHA256 of the raw body with the subscription's secret, `hmac.compare_digest`) and
notes when each incident's webhook first arrived (an SMTP sink, aiosmtpd, takes the admin's
pages, so the notify step works as in production). Two phases, the server kept between them:

1. **healthy alone**: `--incidents` triggers (default 1,000) at a steady `--rate` (default 50/s)
   to `POST /v2/enqueue`: p50/p90/p99/max of trigger sent → signed webhook received (target p99 ≤
   250 ms); then a burst of `--burst` triggers sent as fast as `--connections` connections allow:
   deliveries/s at the healthy receiver (its first to its last delivery of the burst).
2. **with a hanging receiver**: a second subscription whose receiver holds every request
   `--hang-s` seconds (default 4.5: just under the engine's 5 s send timeout, so its sends never
   fail, the subscription is never switched off, and its lane stays full all run while its backlog
   grows). The same steady run and burst again: the healthy receiver's figures must not move.

Usage: `.venv/bin/python bench/webhooks.py --spawn sqlite|postgres|both [--incidents N] [--rate R]`.
Prints one JSON line per phase, then everything (with the machine and its load) as one object.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from common import (  # bench/ is sys.path[0]
    CountingMailbox,
    free_port,
    load_average,
    machine_info,
    percentile,
    recreate_pg,
)
from server_process import initialise, start, stop, wait_health

REPO = Path(__file__).resolve().parent.parent
TOKEN = re.compile(rb"webhook-bench-(\d+)")
HEALTHY, HANGING = "/healthy", "/hanging"


@dataclass
class Receiver:
    """What the receiver saw, per path: when each token's webhook first arrived, how many
    requests, how many failed the signature check."""

    secrets: dict[str, str] = field(default_factory=dict)
    hang_s: float = 4.5
    first_seen: dict[int, float] = field(default_factory=dict)  # healthy path only
    requests: dict[str, int] = field(default_factory=dict)
    bad_signatures: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        now = time.monotonic()
        path = handler.path
        secret = self.secrets.get(path, "")
        expected = ("v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()).encode()
        signed = any(hmac.compare_digest(expected, v.strip().encode())
                     for v in (handler.headers.get("X-PagerDuty-Signature") or "").split(","))
        match = TOKEN.search(body)
        with self.lock:
            self.requests[path] = self.requests.get(path, 0) + 1
            if not signed:
                self.bad_signatures[path] = self.bad_signatures.get(path, 0) + 1
            elif path == HEALTHY and match is not None:
                self.first_seen.setdefault(int(match.group(1)), now)
        if path == HANGING:
            time.sleep(self.hang_s)
        handler.send_response(202)
        handler.send_header("Content-Length", "0")
        handler.end_headers()


@contextmanager
def running_receiver(receiver: Receiver) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            receiver.handle(self)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            pass

    class Server(ThreadingHTTPServer):
        # socketserver's default backlog of 5 drops the SYNs of a lane's 16 concurrent
        # connections, and each dropped one waits a 1 s retransmit: a receiver-side delay.
        request_queue_size = 256
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


async def send_triggers(url: str, key: str, tokens: range, rate: float | None, connections: int) -> dict[int, float]:
    """One trigger per token: at ``rate`` a second, or (None) as fast as ``connections`` allow.
    When each was sent (monotonic)."""
    sent: dict[int, float] = {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    gate = asyncio.Semaphore(connections)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        start = time.monotonic()

        async def one(n: int, token: int) -> None:
            if rate is not None:
                await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            async with gate:
                sent[token] = time.monotonic()
                body = {"routing_key": key, "event_action": "trigger", "dedup_key": f"webhook-bench-{token}",
                        "payload": {"summary": f"webhook-bench-{token} disk full", "source": "bench",
                                    "severity": "critical"}}
                r = await client.post("/v2/enqueue", json=body)
                r.raise_for_status()

        await asyncio.gather(*(one(n, token) for n, token in enumerate(tokens)))
    return sent


def wait_for(receiver: Receiver, tokens: range, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with receiver.lock:
            if all(t in receiver.first_seen for t in tokens):
                return
        time.sleep(0.05)


def measure(args: argparse.Namespace, receiver: Receiver, url: str, key: str, base: int) -> dict[str, Any]:
    """A steady run of ``--incidents`` triggers, then a burst of ``--burst``; tokens from ``base``."""
    steady = range(base, base + args.incidents)
    sent = asyncio.run(send_triggers(url, key, steady, args.rate, args.connections))
    wait_for(receiver, steady, 60)
    with receiver.lock:
        lat = [(receiver.first_seen[t] - sent[t]) * 1000 for t in steady if t in receiver.first_seen]
    burst = range(base + args.incidents, base + args.incidents + args.burst)
    started = time.monotonic()
    asyncio.run(send_triggers(url, key, burst, None, args.connections))
    accepted_s = time.monotonic() - started
    wait_for(receiver, burst, 120)
    with receiver.lock:
        arrivals = sorted(receiver.first_seen[t] for t in burst if t in receiver.first_seen)
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    return {
        "steady": {"incidents": args.incidents, "rate_per_s": args.rate, "delivered": len(lat),
                   "latency_ms": {"p50": round(percentile(lat, 0.5), 1), "p90": round(percentile(lat, 0.9), 1),
                                  "p99": round(percentile(lat, 0.99), 1), "max": round(max(lat), 1)}
                   if lat else None},
        "burst": {"incidents": args.burst, "accepted_in_s": round(accepted_s, 2), "delivered": len(arrivals),
                  "deliveries_per_s": round((len(arrivals) - 1) / span, 1) if span else None,
                  "last_delivery_after_s": round(arrivals[-1] - started, 2) if arrivals else None},
    }


def subscribe(client: httpx.Client, url: str) -> str:
    """A subscription to ``url`` for incident.triggered on every service; its secret."""
    r = client.post("/webhook_subscriptions", json={"webhook_subscription": {
        "type": "webhook_subscription", "description": "bench",
        "delivery_method": {"type": "http_delivery_method", "url": url},
        "events": ["incident.triggered"], "filter": {"type": "account_reference"}}})
    r.raise_for_status()
    return str(r.json()["webhook_subscription"]["delivery_method"]["secret"])


def run(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    receiver = Receiver(hang_s=args.hang_s)
    smtp = Controller(CountingMailbox(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    tmp, port = Path(tempfile.mkdtemp(prefix=f"tocsin-webhook-bench-{backend}-")), free_port()
    url, proc = f"http://127.0.0.1:{port}", None
    db_url = f"sqlite:///{tmp}/bench.db" if backend == "sqlite" else args.pg_url
    env = {**os.environ, "TOCSIN_DATABASE_URL": db_url, "TOCSIN_HOST": "127.0.0.1", "TOCSIN_PORT": str(port),
           "TOCSIN_EVENTS_RATE_LIMIT": "0", "TOCSIN_REST_RATE_LIMIT": "0", "TOCSIN_PUBLIC_URL": url,
           "TOCSIN_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "TOCSIN_LOG_LEVEL": "warning",
           "TOCSIN_SMTP_HOST": "127.0.0.1", "TOCSIN_SMTP_PORT": str(smtp.port), "TOCSIN_SMTP_SECURITY": "none",
           "TOCSIN_EMAIL_FROM": "tocsin@bench.test"}
    try:
        # Two servers (one Receiver): the hanging receiver is another host:port, as another
        # subscriber's would be.
        with running_receiver(receiver) as receiver_port, running_receiver(receiver) as hanging_port:
            if backend == "postgres":
                asyncio.run(recreate_pg(args.pg_url))
            creds = initialise(env, REPO)
            proc = start(env, REPO, tmp / "server.log", "serve")
            if not wait_health(url, proc):
                sys.exit(f"tocsin serve did not start:\n{(tmp / 'server.log').read_text()[-3000:]}")
            auth = {"Authorization": f"Token token={creds['api_key']}",
                    "Accept": "application/vnd.pagerduty+json;version=2"}
            with httpx.Client(base_url=url, headers=auth, timeout=10) as client:
                receiver.secrets[HEALTHY] = subscribe(client, f"http://127.0.0.1:{receiver_port}{HEALTHY}")
            alone = measure(args, receiver, url, creds["integration_key"], 0)
            print(json.dumps({"backend": backend, "healthy_alone": alone}), flush=True)
            if not args.control:
                with httpx.Client(base_url=url, headers=auth, timeout=10) as client:
                    receiver.secrets[HANGING] = subscribe(
                        client, f"http://127.0.0.1:{receiver_port if args.shared_receiver else hanging_port}{HANGING}")
            beside = measure(args, receiver, url, creds["integration_key"], 1_000_000)
            with receiver.lock:
                beside["hanging_receiver"] = {"hang_s": args.hang_s, "requests": receiver.requests.get(HANGING, 0),
                                              "subscribed": not args.control}
                signatures = {"requests": dict(receiver.requests), "bad": dict(receiver.bad_signatures)}
            print(json.dumps({"backend": backend, "beside_hanging": beside}), flush=True)
            return {"backend": backend, "healthy_alone": alone, "beside_hanging": beside, "signatures": signatures}
    finally:
        stop(proc)
        smtp.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spawn", choices=["sqlite", "postgres", "both"], default="sqlite")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/tocsin_bench_webhooks")
    p.add_argument("--incidents", type=int, default=1000, help="steady run: triggers sent")
    p.add_argument("--rate", type=float, default=50.0, help="steady run: triggers per second")
    p.add_argument("--burst", type=int, default=1000, help="burst: triggers sent as fast as possible")
    p.add_argument("--connections", type=int, default=16, help="concurrent requests to the Events API")
    p.add_argument("--hang-s", type=float, default=4.5, help="how long the hanging receiver holds each request")
    p.add_argument("--control", action="store_true",
                   help="phase 2 without the hanging subscription: what the second run alone changes")
    p.add_argument("--shared-receiver", action="store_true",
                   help="the hanging path on the healthy receiver's host:port (one server for both)")
    p.add_argument("--keep", action="store_true", help="keep the spawned server's temp dir")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    backends = ["sqlite", "postgres"] if args.spawn == "both" else [args.spawn]
    out: dict[str, Any] = {"machine": {**machine_info(), "loadavg_at_start": load_average()}, "runs": {}}
    for backend in backends:
        out["runs"][backend] = run(args, backend)
    out["machine"]["loadavg_at_end"] = load_average()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
