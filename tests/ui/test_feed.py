"""The live-update feed: a commit that changed incidents reaches this process's open pages after
it commits (never on rollback), and on PostgreSQL other processes' pages through NOTIFY."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tests.ui.helpers import trigger
from tocsin.db.session import Database
from tocsin.incidents import logic
from tocsin.incidents.change_feed import MAX_IDS, announce_changes, decode, encode
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import IncidentUpdate
from tocsin.incidents.transition_records import Annotated
from tocsin.incidents.transition_writer import recorded
from tocsin.ui.feed import Broadcaster, FeedListener


async def test_a_processed_event_and_a_rest_change_reach_subscribers_after_commit(harness: Harness) -> None:
    h = harness
    subscription = h.tocsin.ui_feed.subscribe()
    await trigger(h)
    await asyncio.wait_for(subscription.event.wait(), 5)
    everything, ids = subscription.take()
    assert not everything and len(ids) == 1
    [incident_id] = ids
    r = await h.client.put(f"/incidents/{incident_id}", headers=h.writer,
                           json={"incident": {"type": "incident", "status": "acknowledged"}})
    assert r.status_code == 200
    await asyncio.wait_for(subscription.event.wait(), 5)
    assert subscription.take() == (False, {incident_id})
    h.tocsin.ui_feed.unsubscribe(subscription)
    assert h.tocsin.ui_feed.subscribers == 0


async def test_a_rolled_back_change_announces_nothing(harness: Harness) -> None:
    h = harness
    await trigger(h)
    subscription = h.tocsin.ui_feed.subscribe()
    async with h.tocsin.db.transaction() as session:
        incident_id = (await session.execute(select(Incident.id))).scalar_one()
    async def change_then_fail() -> None:
        async with h.tocsin.db.transaction() as session:
            await logic.update_incident(session, incident_id, IncidentUpdate(status="acknowledged"), "PUSER",
                                        h.tocsin.runtime.clock.now())
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await change_then_fail()
    await asyncio.sleep(0.2)
    assert not subscription.event.is_set()


def test_payloads_round_trip_and_a_huge_change_is_everything() -> None:
    ids = frozenset({"PA", "PB"})
    assert decode(encode("node1", ids)) == ("node1", ids)
    many = frozenset(f"P{n:013d}" for n in range(MAX_IDS + 1))
    assert decode(encode("node1", many)) == ("node1", None)
    assert len(encode("n", frozenset(f"P{n:013d}" for n in range(MAX_IDS)))) < 8000  # NOTIFY's limit


def test_publishing_from_another_thread_reaches_the_loop() -> None:
    broadcaster = Broadcaster()

    async def main() -> tuple[bool, set[str]]:
        subscription = broadcaster.subscribe()
        await asyncio.to_thread(broadcaster.publish, frozenset({"PX"}))
        await asyncio.wait_for(subscription.event.wait(), 2)
        return subscription.take()

    assert asyncio.run(main()) == (False, {"PX"})


@pytest.mark.postgres
async def test_another_process_hears_a_commit_through_notify(pg_url: str, pg_database: object) -> None:
    """Two Databases (two processes' worth of connections): a change committed through one reaches
    a FeedListener with another origin; the committing process's own announcement is ignored."""
    broadcaster = Broadcaster()
    subscription = broadcaster.subscribe()
    listener = FeedListener(pg_url, broadcaster, origin="here")
    listener.start()
    writer = Database(pg_url)
    writer.before_commit.append(lambda s: announce_changes(s, None, origin="elsewhere"))
    own = Database(pg_url)
    own.before_commit.append(lambda s: announce_changes(s, None, origin="here"))
    try:
        await asyncio.wait_for(listener.listening.wait(), 10)
        record = Annotated(incident_id="PNOTIFIED", at=datetime.now(UTC), agent=None, channel={}, summary="x")
        async with own.transaction() as session:
            recorded(session).append(record)
        await asyncio.sleep(0.3)
        assert not subscription.event.is_set()  # our own NOTIFY: already delivered in-process
        async with writer.transaction() as session:
            recorded(session).append(record)
        await asyncio.wait_for(subscription.event.wait(), 5)
        assert subscription.take() == (False, {"PNOTIFIED"})
    finally:
        await listener.stop()
        await writer.dispose()
        await own.dispose()
