"""What the inbound IP allow-list check costs a request (timeit, in-process, no server).

    .venv/bin/python bench/allowlists.py [--number 200000]

Times ``AllowListGuard.check`` alone in the cases that matter (no list: the default; a 100-range
list with an address seen before, and with a new address every call; a trusted proxy's
X-Forwarded-For), then a whole Events API request answered by validation (no database) through
``Tocsin.__call__`` (guard included) against the events endpoint called directly (as before).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import timeit
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from tocsin.allowlists.guard import AllowListGuard
from tocsin.allowlists.policy import EVENTS_API
from tocsin.api.app import Tocsin
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.outbound.addresses import parse_networks

RANGES = [{"cidr": f"10.{i}.0.0/16"} for i in range(99)] + [{"cidr": "192.0.2.0/24"}]
LISTED = [{"state": "enabled", "applies_to": ["events_api"], "cidr_entries": RANGES}]


def scope(client: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/v2/enqueue", "client": (client, 5000),
            "headers": headers or [(b"content-type", b"application/json"), (b"host", b"tocsin")]}


def per_call_ns(fn: Any, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e9


def guard_costs(number: int) -> None:
    db = Database("sqlite:///:memory:")
    open_guard = AllowListGuard(db)
    open_guard.install([])
    listed = AllowListGuard(db)
    listed.install(LISTED)
    behind_proxy = AllowListGuard(db, parse_networks("10.255.0.0/24"))
    behind_proxy.install(LISTED)
    fresh = [str(IPv4Address(0x0A000000 + i)) for i in range(number)]  # 10.0.x.y: every one new
    it = iter(fresh)
    s = scope("192.0.2.10")
    xff = [(b"host", b"tocsin"), (b"x-forwarded-for", b"198.51.100.1, 192.0.2.10")]
    print(f"{'case':58} ns/request")
    print(f"{'no enabled list (the default)':58} {per_call_ns(lambda: open_guard.check(s, EVENTS_API), number):8.0f}")
    print(f"{'100-range list, address seen before':58} {per_call_ns(lambda: listed.check(s, EVENTS_API), number):8.0f}")
    print(f"{'100-range list, a new address every request':58} "
          f"{per_call_ns(lambda: listed.check(scope(next(it)), EVENTS_API), number // 5):8.0f}")
    print(f"{'100-range list, via a trusted proxy (X-Forwarded-For)':58} "
          f"{per_call_ns(lambda: behind_proxy.check(scope('10.255.0.7', list(xff)), EVENTS_API), number):8.0f}")
    asyncio.run(db.dispose())


async def _request_costs(number: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = Tocsin(Settings(database_url=f"sqlite:///{Path(folder) / 'b.db'}"), start_worker=False,
                     start_engine=False)
        body = b'{"routing_key": "x", "event_action": "bogus"}'  # 400 from validation: no database

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            return None

        async def run(entry: Any, n: int) -> float:
            loop = asyncio.get_running_loop()
            best = float("inf")
            for _ in range(5):
                started = loop.time()
                for _ in range(n):
                    await entry(scope("192.0.2.10"), receive, send)
                best = min(best, (loop.time() - started) / n)
            return best * 1e9

        for label, lists in (("no list", []), ("100-range events list", LISTED)):
            app.allow_lists.install(lists)
            before = await run(app.events, number // 10)
            after = await run(app, number // 10)
            print(f"whole events request (400), {label:22}: endpoint alone {before:7.0f} ns, "
                  f"through Tocsin.__call__ with the guard {after:7.0f} ns (+{after - before:.0f})")
        await app.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=200_000)
    args = parser.parse_args()
    guard_costs(args.number)
    asyncio.run(_request_costs(args.number))


if __name__ == "__main__":
    main()
