"""Deliveries handed to the running engine by the transaction that queued them: leased there, sent
the moment it commits (no wake, read or claim in between), only those heading their stream and
only within the destination's room; given back if the transaction rolls back; the rest claimed by
the webhooks step as before. And a claim whose batch is filled by one destination's backlog runs
again at once, past it, to the other destinations' due deliveries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

import orjson
import pytest
from sqlalchemy.orm import Session

from tests.conftest import Harness
from tests.webhooks.helpers import deliver, deliveries, subscribe, webhook_step
from tests.webhooks.receiver import Receiver, running_receiver
from tocsin.db.session import Database
from tocsin.engine.assembly import outbound_client
from tocsin.webhooks.delivery import Dispatcher
from tocsin.webhooks.flights import Flights
from tocsin.webhooks.models import DELIVERED, PENDING
from tocsin.webhooks.queue import Event, Send, new_uuid, store

T = TypeVar("T")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found


def test_flights_hold_each_destination_to_its_cap() -> None:
    flights = Flights(2)
    assert flights.take(["a", "a", "b", "a"]) == [True, True, True, False]
    assert flights.full() == ["a"] and flights.total == 3
    assert flights.give_back(["a"]) is True  # it was full: its waiting deliveries can go now
    assert flights.give_back(["b"]) is False
    assert flights.full() == [] and flights.total == 1


async def in_transaction(db: Database, work: Callable[[Session], T]) -> T:
    """One write transaction as the events processor makes it (SQLite: in the writer's thread)."""
    if db.is_sqlite:
        return await db.in_writer_thread(lambda session, _: work(session))
    async with db.transaction() as session:
        return await session.run_sync(work)


def ping_like(name: str, at: datetime) -> Event:
    event_id = new_uuid()
    body = orjson.dumps({"event": {"id": event_id, "event_type": "pagey.ping", "resource_type": "pagey",
                                   "occurred_at": at.isoformat(), "agent": None, "client": None,
                                   "data": {"type": "ping", "name": name}}}).decode()
    return Event(event_id, "pagey.ping", "pagey", name, at, body)


async def test_queued_deliveries_are_sent_as_their_transaction_commits(harness: Harness, receiver: Receiver) -> None:
    h = harness
    sub = await subscribe(h, receiver.url("/handed"), events=["incident.triggered"])
    receiver.secrets["/handed"] = sub["delivery_method"]["secret"]
    dispatcher = webhook_step(h).dispatcher
    dispatcher.per_destination = 2
    now = h.tocsin.runtime.clock.now()
    await dispatcher.run(now)  # the engine's first run: nothing due; it learns its event loop

    def rolled_back(session: Session) -> None:
        ids = store(session, [e := ping_like("rolled back", now)], [Send(e, sub["id"], "r")], now)
        assert dispatcher.hand_off(session, ids, now)
        raise RuntimeError("the change fails after its deliveries were handed off")

    with pytest.raises(RuntimeError):
        await in_transaction(h.tocsin.db, rolled_back)
    assert dispatcher.in_flight == 0  # its room given back

    # Two events of one incident (stream x), one each of two others: x1 and y go at commit; x2
    # waits behind x1, z for room (two per destination).
    names = [("x1", "x"), ("x2", "x"), ("y", "y"), ("z", "z")]
    handed: list[bool] = []

    def changed(session: Session) -> list[str]:
        events = [ping_like(name, now) for name, _ in names]
        ids = store(session, events, [Send(e, sub["id"], stream) for e, (_, stream) in zip(events, names, strict=True)],
                    now)
        handed.append(dispatcher.hand_off(session, ids, h.tocsin.runtime.clock.now()))
        return ids

    x1, x2, y, z = await in_transaction(h.tocsin.db, changed)
    assert handed == [False]  # not all: the step claims the rest
    await dispatcher.settle()  # the lanes started at commit; no run claimed anything
    got = receiver.at("/handed")
    assert sorted(r.headers["x-webhook-id"] for r in got) == sorted([x1, y]) and all(r.verified for r in got)
    status = {d.id: (d.status, d.attempts) for d, _ in await deliveries(h, sub["id"])}
    assert status == {x1: (DELIVERED, 1), y: (DELIVERED, 1), x2: (PENDING, 0), z: (PENDING, 0)}
    assert dispatcher.in_flight == 0

    assert await deliver(h) == 2  # the step: x2 (x1 is recorded) and z (room again)
    assert [r.event["data"]["name"] for r in receiver.at("/handed")][2:] in (["x2", "z"], ["z", "x2"])
    assert all(d.status == DELIVERED for d, _ in await deliveries(h, sub["id"]))


async def test_a_backlog_filling_the_batch_does_not_hide_another_destinations_deliveries(
        harness: Harness, receiver: Receiver) -> None:
    h = harness
    busy = await subscribe(h, receiver.url("/busy"), events=["incident.triggered"])
    other = await subscribe(h, receiver.url("/other"), events=["incident.triggered"])
    receiver.hang_seconds = 1.0
    receiver.answer("/busy", "hang")
    now = h.tocsin.runtime.clock.now()

    def queued(session: Session) -> None:
        older = now - timedelta(seconds=2)  # the busy destination's backlog is first in line
        events = [ping_like(f"busy {n}", older) for n in range(3)]
        store(session, events, [Send(e, busy["id"], e.resource_id) for e in events], older)
        store(session, [e := ping_like("other", now)], [Send(e, other["id"], "other")], now)

    await in_transaction(h.tocsin.db, queued)
    dispatcher = Dispatcher(h.tocsin.db, h.tocsin.runtime.clock.now, outbound_client(h.tocsin.settings),
                            batch=2, per_destination=1)
    try:
        first = await dispatcher.run(now)  # reads busy 0 and 1: room for one, the other left
        assert (first.claimed, first.more) == (1, True)  # so it runs again at once ...
        second = await dispatcher.run(now)  # ... past the busy destination, full now
        assert second.claimed == 1
        await dispatcher.settle()
    finally:
        await dispatcher.aclose()
    assert [r.event["data"]["name"] for r in receiver.at("/other")] == ["other"]
    assert [r.event["data"]["name"] for r in receiver.at("/busy")] == ["busy 0"]
