"""Retention of outbound deliveries (tocsin.webhooks.retention, run by the retention sweeper):
finished deliveries older than the horizon go with their attempts and the events nothing else
needs; pending work, younger deliveries and the failure-rate window stay. On both databases, on a
frozen clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from tests.conftest import Harness
from tests.helpers import statements_run
from tests.maintenance.helpers import T0, freeze
from tests.webhooks.helpers import subscribe
from tocsin.webhooks.models import (
    DELIVERED,
    DROPPED,
    FAILED,
    PENDING,
    RETRY,
    Delivery,
    DeliveryAttempt,
    OutboundEvent,
)
from tocsin.webhooks.retention import prune_deliveries

DAY = timedelta(days=1)


async def pings(h: Harness, sub_id: str, n: int) -> list[str]:
    """``n`` queued pagey.ping deliveries (each its own event); their ids."""
    ids = []
    for _ in range(n):
        r = await h.client.post(f"/webhook_subscriptions/{sub_id}/ping", headers=h.writer)
        assert r.status_code == 202, r.text
        ids.append(r.json()["webhook_delivery"]["id"])
    return ids


async def finish(h: Harness, delivery_id: str, status: str, at: datetime | None, attempts: int) -> None:
    """As if the delivery had been tried ``attempts`` times and ended ``status`` at ``at``."""
    async with h.tocsin.db.transaction() as session:
        seq = await session.scalar(select(Delivery.seq).where(Delivery.id == delivery_id))
        await session.execute(update(Delivery).where(Delivery.seq == seq).values(
            status=status, finished_at=at, attempts=attempts))
        if attempts:
            await session.execute(insert(DeliveryAttempt), [
                {"delivery_seq": seq, "attempted_at": (at or T0) - timedelta(minutes=i), "status_code": 500,
                 "latency_ms": 3, "error": "HTTP 500", "outcome": RETRY} for i in range(attempts)])


async def rows(h: Harness) -> dict[str, Any]:
    async with h.tocsin.db.transaction() as session:
        return {
            "deliveries": set((await session.scalars(select(Delivery.id))).all()),
            "events": set((await session.scalars(select(OutboundEvent.id))).all()),
            "attempts": int(await session.scalar(select(func.count()).select_from(DeliveryAttempt)) or 0),
        }


async def test_old_finished_deliveries_go_and_pending_work_and_the_window_stay(harness: Harness) -> None:
    h = harness
    freeze(h, T0)
    sub = await subscribe(h, "https://receiver.example/hook")
    old_ok, old_failed, old_dropped, young, retrying, recent_failed = await pings(h, sub["id"], 6)
    await finish(h, old_ok, DELIVERED, T0 - 40 * DAY, 2)
    await finish(h, old_failed, FAILED, T0 - 31 * DAY, 17)
    await finish(h, old_dropped, DROPPED, T0 - 31 * DAY, 0)
    await finish(h, young, DELIVERED, T0 - 29 * DAY, 1)
    await finish(h, retrying, PENDING, None, 3)  # queued since long ago, still on its retry schedule
    await finish(h, recent_failed, FAILED, T0 - timedelta(hours=13), 1)
    # Sent again by hand: a new pending delivery of the old event, which must keep its event.
    again = await h.client.post(f"/webhook_subscriptions/{sub['id']}/deliveries/{old_ok}/redeliver",
                                headers=h.writer)
    assert again.status_code == 202, again.text
    before = await rows(h)
    async with h.tocsin.db.transaction() as session:
        event_of = dict((await session.execute(select(Delivery.id, Delivery.event_id))).all())

    assert await h.tocsin.retention.sweep() == 3  # the app's sweeper, with the 30-day default

    after = await rows(h)
    assert after["deliveries"] == before["deliveries"] - {old_ok, old_failed, old_dropped}
    assert after["events"] == before["events"] - {event_of[old_failed], event_of[old_dropped]}
    assert event_of[old_ok] in after["events"]  # the redelivery still needs it
    assert after["attempts"] == before["attempts"] - 2 - 17
    listed = (await h.client.get(f"/webhook_subscriptions/{sub['id']}/deliveries", headers=h.auth,
                                 params={"total": "true"})).json()
    assert listed["total"] == 4
    assert {d["id"] for d in listed["deliveries"]} >= {young, retrying, recent_failed}
    assert await h.tocsin.retention.sweep() == 0


async def test_batches_are_bounded_set_based_and_never_cut_into_the_failure_window(harness: Harness) -> None:
    h = harness
    freeze(h, T0)
    sub = await subscribe(h, "https://receiver.example/hook")
    *old, inside_window = await pings(h, sub["id"], 6)
    for delivery_id in old:
        await finish(h, delivery_id, FAILED, T0 - 2 * DAY, 2)
    await finish(h, inside_window, FAILED, T0 - timedelta(hours=11), 1)

    deleted: list[int] = []
    with statements_run(h.tocsin.db) as statements:
        while not deleted or deleted[-1] == 2:
            async with h.tocsin.db.transaction() as session:
                # An hour's horizon is clamped to the failure-rate window (12 hours).
                deleted.append(await session.run_sync(
                    lambda s: prune_deliveries(s, T0, 2, horizon=timedelta(hours=1))))
    assert deleted == [2, 2, 1]
    deletes = [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 3 * 3  # attempts, deliveries, events: per batch, not per row
    left = await rows(h)
    assert left["deliveries"] == {inside_window} and left["attempts"] == 1
