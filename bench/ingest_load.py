"""The load generator of bench/ingest.py: N keep-alive HTTP/1.1 connections over raw asyncio
streams, each sending pre-encoded trigger events to ``POST /v2/enqueue`` and timing every
request, and the summary of a run (throughput, latency percentiles, what should be stored).

Lean on purpose: it shares a 2-core box with the server, so it speaks raw HTTP/1.1 with
pre-encoded requests instead of going through an HTTP client library.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

from common import percentile  # bench/ is the script's directory

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

    def ms(p: float) -> float | None:
        return round(percentile(lat, p) / 1e6, 3) if lat else None

    return {"requests": len(lat), "accepted": accepted, "elapsed_s": round(elapsed, 3),
            "events_per_s": round(accepted / elapsed, 1),
            "non_2xx": {str(k): c for k, c in sorted(status.items()) if not 200 <= k < 300},
            "errors": dict(sum((s.errors for s in stats), Counter[str]())),
            "latency_ms": {"p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "max": ms(1.0)},
            "accepted_incl_warmup": sum(s.ok_total for s in stats),
            "expected_new_alerts": sum(s.unique_ok for s in stats)
            + len(set[int]().union(*(s.shared_ok for s in stats))),
            "client_cpu_s": round(client_cpu, 2)}


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
