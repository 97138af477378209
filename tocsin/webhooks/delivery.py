"""Sending deliveries: claimed in order, POSTed concurrently, every attempt recorded, retried on
the schedule, and a destination that keeps failing switched off.

The engine's ``webhooks`` step calls ``Dispatcher.run`` each tick. A run:

1. looks on a read connection whether anything is due (most ticks: nothing, no write);
2. claims, in one short write transaction, due deliveries that head their stream (no earlier
   delivery of the same incident to the same destination is pending) of destinations that are on,
   oldest due first, at most ``per_destination`` in flight per destination in this process
   (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so several engines share the work). A claimed
   delivery is *leased*: its ``due_at`` moves ``LEASE`` ahead, so no engine claims it again
   meanwhile, and the later deliveries of its stream keep waiting behind it. If the engine dies
   mid-send the lease runs out and another engine sends it again (at least once; ``X-Webhook-Id``
   lets receivers tell);
3. starts one task (a *lane*) per destination as the claim commits and returns at once: the sends
   of one destination never hold up another's, nor the engine's other steps. Each lane POSTs its
   deliveries concurrently (``send_timeout`` each, redirects not followed), then records the
   outcomes in one write transaction (``recording.record_outcomes``: attempts, retries, the
   failure-rate rule) and wakes the engine, which claims what became due. The POST itself is
   ``sending.send``.

``Dispatcher.hand_off`` is the same claim made inside the transaction that queued deliveries (the
outbox's announcement, while the engine runs): the deliveries that head their stream are leased
there and their lanes start the moment it commits, with no wake, read or claiming write between a
change and its webhook. The rest wait for the step as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from tocsin.db.after_commit import after_commit, after_rollback
from tocsin.db.base import table_of
from tocsin.db.session import Database
from tocsin.webhooks.destinations import KINDS, Claimed
from tocsin.webhooks.flights import Flights
from tocsin.webhooks.models import PENDING, Delivery, Destination
from tocsin.webhooks.recording import record_outcomes
from tocsin.webhooks.request import OutboundRequest
from tocsin.webhooks.sending import SEND_TIMEOUT, Attempt, send
from tocsin.webhooks.vault import Vault, vault

log = logging.getLogger(__name__)
T = TypeVar("T")

LEASE = timedelta(seconds=60)  # longer than a send and its recording; how long a dead engine's claim blocks
PER_DESTINATION = 16  # deliveries of one destination in flight in this process
BATCH = 200


@dataclass(frozen=True, slots=True)
class RunResult:
    claimed: int
    more: bool
    next_due: datetime | None


# --- claiming -------------------------------------------------------------------------------------

def _due_query(now: datetime, full: Sequence[str]) -> Any:
    """Pending deliveries due at ``now`` heading their stream, of destinations that are on."""
    d, earlier = Delivery, aliased(Delivery)
    waits = (select(earlier.seq).where(earlier.destination_id == d.destination_id, earlier.stream == d.stream,
                                       earlier.status == PENDING, earlier.seq < d.seq).exists())
    query = (select(d.seq, d.id, d.destination_id, Destination.kind, Destination.url, d.event_id, d.attempts)
             .join(Destination, Destination.id == d.destination_id)
             .where(d.status == PENDING, d.due_at <= now, Destination.active.is_(True),
                    Destination.temporarily_disabled.is_(False), ~waits))
    if full:
        query = query.where(d.destination_id.not_in(list(full)))
    return query


def _next_due(now: datetime) -> Any:
    return (select(func.min(Delivery.due_at)).join(Destination, Destination.id == Delivery.destination_id)
            .where(Delivery.status == PENDING, Delivery.due_at > now, Destination.active.is_(True),
                   Destination.temporarily_disabled.is_(False)))


async def peek(session: AsyncSession, now: datetime, full: Sequence[str]) -> tuple[bool, datetime | None]:
    """Is anything claimable due, and when is the next pending delivery due? (A read.)"""
    due = (await session.execute(_due_query(now, full).limit(1))).first() is not None
    return due, await session.scalar(_next_due(now))


Prepared = tuple[Claimed, OutboundRequest | str]


def claim(session: Session, now: datetime, limit: int, flights: Flights, vault_: Vault, *,
          only: Sequence[str] | None = None) -> tuple[list[Prepared], datetime | None, bool]:
    """Lease up to ``limit`` due deliveries (of ``only``, ids, if given) while their destination
    has room in ``flights`` (taken here, given back if the transaction rolls back; destinations
    with none are skipped in SQL); their requests; the next due time after now (None with
    ``only``); and whether rows were left for want of room. Those destinations are full now, so
    the next claim skips them in SQL and reaches the rows behind them: a backlog of one
    destination (a hanging receiver's) filling the ``limit`` must not hide another's due rows."""
    query = _due_query(now, flights.full())
    if only is not None:
        query = query.where(Delivery.id.in_(list(only)))
    rows = session.execute(query.order_by(Delivery.due_at, Delivery.seq).limit(limit)
                           .with_for_update(skip_locked=True, of=Delivery)).all()
    leased_until = now + LEASE
    claimed: list[Claimed] = []
    # A row with no room stays locked until commit, then is free again: claimed once there is room.
    for (seq, delivery_id, destination_id, kind, url, event_id, attempts), room in zip(
            rows, flights.take([row.destination_id for row in rows]), strict=True):
        if room:
            claimed.append(Claimed(seq, delivery_id, destination_id, kind, url, event_id, attempts, leased_until))

    def give_back() -> None:
        flights.give_back(c.destination_id for c in claimed)

    after_rollback(session, give_back)
    if claimed:
        t = table_of(Delivery)
        session.execute(update(t).where(t.c.seq == bindparam("b_seq")).values(due_at=leased_until),
                        [{"b_seq": c.seq} for c in claimed])
    requests: dict[int, OutboundRequest | str] = {}
    for kind in {c.kind for c in claimed}:
        mine = [c for c in claimed if c.kind == kind]
        handler = KINDS.get(kind)
        if handler is None:
            requests.update({c.seq: f"no sender for destinations of kind {kind!r}" for c in mine})
        else:
            requests.update(handler.prepare(session, vault_, now, mine))
    later = None if only is not None else session.scalar(_next_due(now))
    return [(c, requests[c.seq]) for c in claimed], later, len(claimed) < len(rows)


# --- the dispatcher ----------------------------------------------------------------------------------

class Dispatcher:
    """Claims and starts deliveries each run; lanes send and record them in the background."""

    def __init__(self, db: Database, now: Callable[[], datetime], client: httpx.AsyncClient, *,
                 batch: int = BATCH, per_destination: int = PER_DESTINATION, send_timeout: float = SEND_TIMEOUT,
                 wake: Callable[[], None] = lambda: None) -> None:
        self.db, self.now, self.client = db, now, client
        self.batch, self.send_timeout = batch, send_timeout
        self.flights = Flights(per_destination)  # deliveries in flight per destination in this process
        self.wake = wake  # the engine's, set by its builder: a lane that recorded wakes the loop
        self._lanes: set[asyncio.Task[None]] = set()
        self._vault: Vault | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the lanes' (known from the first run)
        self._closing = False

    @property
    def per_destination(self) -> int:
        return self.flights.cap

    @per_destination.setter
    def per_destination(self, cap: int) -> None:
        self.flights.cap = cap

    async def _write(self, work: Callable[[Session], T]) -> T:
        """One write transaction (SQLite: the writer's thread and turn; PostgreSQL: pooled)."""
        if self.db.is_sqlite:
            return await self.db.in_writer_thread(lambda session, _: work(session))
        async with self.db.transaction() as session:
            return await session.run_sync(work)

    async def _vault_of(self, now: datetime) -> Vault:
        if self._vault is None:
            self._vault = await self._write(lambda session: vault(session, now))
        return self._vault

    async def run(self, now: datetime) -> RunResult:
        self._loop = asyncio.get_running_loop()
        due, later = await self.db.read(lambda session: peek(session, now, self.flights.full()))
        if not due:
            return RunResult(0, False, later)
        sealer = await self._vault_of(now)
        claimed, later, crowded = await self._write(lambda session: self._claim(session, now, self.batch, sealer))
        return RunResult(len(claimed), len(claimed) >= self.batch or crowded, later)

    def hand_off(self, session: Session, ids: Sequence[str], now: datetime) -> bool:
        """In the transaction that queued the deliveries ``ids`` (before it commits; the engine
        running): claim those that head their stream, room permitting, and send them as it commits.
        Whether all were taken; the rest wait for the step's claim. Takes none before the first run
        (where it learns its event loop) or once closing."""
        if not ids or self._loop is None or self._closing:
            return not ids
        if self._vault is None:  # a read: the destinations' secrets were sealed with the key
            self._vault = vault(session, now)
        return len(self._claim(session, now, len(ids), self._vault, only=ids)[0]) == len(ids)

    def _claim(self, session: Session, now: datetime, limit: int, sealer: Vault, *,
               only: Sequence[str] | None = None) -> tuple[list[Prepared], datetime | None, bool]:
        """``claim``, with the lanes started the moment the transaction commits: whatever happens to
        the caller afterwards (a step cut off at its budget), what was leased is sent."""
        claimed, later, crowded = claim(session, now, limit, self.flights, sealer, only=only)
        if claimed:
            after_commit(session, lambda: self._launch(claimed))
        return claimed, later, crowded

    def _launch(self, claimed: list[Prepared]) -> None:
        """After the claim's commit, in whichever thread committed (SQLite: the writer's)."""
        loop = self._loop
        assert loop is not None  # set by run(), which every claim follows
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            self._start(claimed)
            return
        try:
            loop.call_soon_threadsafe(self._start, claimed)
        except RuntimeError:  # the loop is closed: the leases run out and another run sends them
            self.flights.give_back(c.destination_id for c, _ in claimed)

    def _start(self, claimed: list[Prepared]) -> None:
        by_destination: dict[str, list[tuple[Claimed, OutboundRequest | str]]] = {}
        for item in claimed:
            by_destination.setdefault(item[0].destination_id, []).append(item)
        for destination_id, items in by_destination.items():
            lane = asyncio.create_task(self._lane(destination_id, items), name=f"webhooks {destination_id}")
            self._lanes.add(lane)
            lane.add_done_callback(self._lanes.discard)

    async def _attempt(self, request: OutboundRequest | str) -> Attempt | str:
        if isinstance(request, str):
            return request
        return await send(self.client, request, self.now, within=self.send_timeout)

    async def _lane(self, destination_id: str, items: list[tuple[Claimed, OutboundRequest | str]]) -> None:
        room = [destination_id] * len(items)
        try:
            outcomes = await asyncio.gather(*(self._attempt(request) for _, request in items))
            # The receiver has answered: its room is free while the outcomes are written.
            was_full = self.flights.give_back(room)
            room = []
            if was_full:
                self.wake()  # its waiting deliveries can be claimed now
            done = [(claimed, outcome) for (claimed, _), outcome in zip(items, outcomes, strict=True)]
            await self._write(lambda session: record_outcomes(session, done, self.now()))
        except Exception:  # the deliveries keep their lease and are sent again once it runs out
            log.exception("webhook deliveries to %s could not be recorded; they are retried after their lease",
                          destination_id)
        finally:
            self.flights.give_back(room)
            self.wake()

    @property
    def in_flight(self) -> int:
        return self.flights.total

    async def settle(self) -> None:
        """Wait until every started lane has recorded (tests; shutting down)."""
        while self._lanes:
            await asyncio.gather(*list(self._lanes), return_exceptions=True)

    async def aclose(self, grace: float = SEND_TIMEOUT + 1.0) -> None:
        """Let lanes finish within ``grace`` seconds, cancel the rest (their leases run out and
        another run sends them again), close the HTTP client."""
        self._closing = True
        if self._lanes:
            _, pending = await asyncio.wait(set(self._lanes), timeout=grace)
            for lane in pending:
                lane.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        await self.client.aclose()
