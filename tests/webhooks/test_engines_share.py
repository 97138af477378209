"""Several engines on one PostgreSQL database share the deliveries (``FOR UPDATE SKIP LOCKED`` and
leases): each delivery is sent once, and an incident's events still arrive in order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Harness
from tests.webhooks.helpers import deliveries, subscribe
from tests.webhooks.receiver import Receiver, running_receiver
from tests.webhooks.scenario import every_change
from tocsin.db.session import Database
from tocsin.webhooks.delivery import Dispatcher
from tocsin.webhooks.models import DELIVERED


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found


async def test_two_engines_share_the_work_in_order(harness: Harness, receiver: Receiver) -> None:
    h = harness
    if h.tocsin.db.is_sqlite:
        pytest.skip("SQLite runs one engine per database")
    sub = await subscribe(h, receiver.url("/shared"))
    for _ in range(30):
        assert (await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer)).status_code == 202
    story = await every_change(h)
    databases = [Database(h.db_url), Database(h.db_url)]
    # Small batches: neither engine can claim all 41 in its first run, however the two interleave.
    engines = [Dispatcher(db, h.tocsin.runtime.clock.now, httpx.AsyncClient(), batch=5, per_destination=4)
               for db in databases]
    claimed = [0, 0]
    try:
        for _ in range(60):
            results = await asyncio.gather(*(e.run(h.tocsin.runtime.clock.now()) for e in engines))
            claimed = [c + r.claimed for c, r in zip(claimed, results, strict=True)]
            await asyncio.gather(*(e.settle() for e in engines))
            if not any(r.claimed for r in results):
                break
    finally:
        for engine in engines:
            await engine.aclose()
        for db in databases:
            await db.dispose()
    assert all(claimed), claimed  # both engines sent some
    rows = await deliveries(h, sub["id"])
    assert sum(claimed) == len(rows) and all(d.status == DELIVERED and d.attempts == 1 for d, _ in rows)
    got = receiver.at("/shared")
    assert sorted(r.headers["x-webhook-id"] for r in got) == sorted(d.id for d, _ in rows)  # each once
    incident = [r.event["event_type"] for r in got if r.event["resource_type"] == "incident"]
    assert incident == [kind for kind, _ in story.expected]
