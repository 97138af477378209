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
3. starts one task (a *lane*) per destination and returns at once: the sends of one destination
   never hold up another's, nor the engine's other steps. Each lane POSTs its deliveries
   concurrently (``send_timeout`` each, redirects not followed), then records the outcomes in one
   write transaction (``recording.record_outcomes``: attempts, retries, the failure-rate rule) and
   wakes the engine, which claims what became due. The POST itself is ``sending.send``.
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

from tocsin.db.base import table_of
from tocsin.db.session import Database
from tocsin.webhooks.destinations import KINDS, Claimed
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


def claim(session: Session, now: datetime, limit: int, room: dict[str, int], vault_: Vault, *,
          per_destination: int = PER_DESTINATION) -> tuple[list[Prepared], datetime | None]:
    """Lease up to ``limit`` due deliveries, at most ``room[destination]`` per destination (absent:
    ``per_destination``; destinations with no room are skipped in SQL); their requests; the next due
    time after now."""
    full = sorted(k for k, v in room.items() if v <= 0)
    rows = session.execute(_due_query(now, full).order_by(Delivery.due_at, Delivery.seq).limit(limit)
                           .with_for_update(skip_locked=True, of=Delivery)).all()
    taken: dict[str, int] = {}
    leased_until = now + LEASE
    claimed: list[Claimed] = []
    for seq, delivery_id, destination_id, kind, url, event_id, attempts in rows:
        if taken.get(destination_id, 0) >= room.get(destination_id, per_destination):
            continue  # locked until commit, then free again: claimed once this destination has room
        taken[destination_id] = taken.get(destination_id, 0) + 1
        claimed.append(Claimed(seq, delivery_id, destination_id, kind, url, event_id, attempts, leased_until))
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
    return [(c, requests[c.seq]) for c in claimed], session.scalar(_next_due(now))


# --- the dispatcher ----------------------------------------------------------------------------------

class Dispatcher:
    """Claims and starts deliveries each run; lanes send and record them in the background."""

    def __init__(self, db: Database, now: Callable[[], datetime], client: httpx.AsyncClient, *,
                 batch: int = BATCH, per_destination: int = PER_DESTINATION, send_timeout: float = SEND_TIMEOUT,
                 wake: Callable[[], None] = lambda: None) -> None:
        self.db, self.now, self.client = db, now, client
        self.batch, self.per_destination, self.send_timeout = batch, per_destination, send_timeout
        self.wake = wake  # the engine's, set by its builder: a lane that recorded wakes the loop
        self._in_flight: dict[str, int] = {}
        self._lanes: set[asyncio.Task[None]] = set()
        self._vault: Vault | None = None

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

    def _room(self) -> dict[str, int]:
        return {d: self.per_destination - n for d, n in self._in_flight.items()}

    async def run(self, now: datetime) -> RunResult:
        full = sorted(d for d, n in self._room().items() if n <= 0)
        due, later = await self.db.read(lambda session: peek(session, now, full))
        if not due:
            return RunResult(0, False, later)
        sealer = await self._vault_of(now)
        room = self._room()
        claimed, later = await self._write(lambda session: claim(session, now, self.batch, room, sealer,
                                                                          per_destination=self.per_destination))
        by_destination: dict[str, list[tuple[Claimed, OutboundRequest | str]]] = {}
        for item in claimed:
            by_destination.setdefault(item[0].destination_id, []).append(item)
        for destination_id, items in by_destination.items():
            self._in_flight[destination_id] = self._in_flight.get(destination_id, 0) + len(items)
            lane = asyncio.create_task(self._lane(destination_id, items), name=f"webhooks {destination_id}")
            self._lanes.add(lane)
            lane.add_done_callback(self._lanes.discard)
        return RunResult(len(claimed), len(claimed) >= self.batch, later)

    async def _attempt(self, request: OutboundRequest | str) -> Attempt | str:
        if isinstance(request, str):
            return request
        return await send(self.client, request, self.now, within=self.send_timeout)

    async def _lane(self, destination_id: str, items: list[tuple[Claimed, OutboundRequest | str]]) -> None:
        try:
            outcomes = await asyncio.gather(*(self._attempt(request) for _, request in items))
            done = [(claimed, outcome) for (claimed, _), outcome in zip(items, outcomes, strict=True)]
            await self._write(lambda session: record_outcomes(session, done, self.now()))
        except Exception:  # the deliveries keep their lease and are sent again once it runs out
            log.exception("webhook deliveries to %s could not be recorded; they are retried after their lease",
                          destination_id)
        finally:
            left = self._in_flight.get(destination_id, 0) - len(items)
            if left > 0:
                self._in_flight[destination_id] = left
            else:
                self._in_flight.pop(destination_id, None)
            self.wake()

    @property
    def in_flight(self) -> int:
        return sum(self._in_flight.values())

    async def settle(self) -> None:
        """Wait until every started lane has recorded (tests; shutting down)."""
        while self._lanes:
            await asyncio.gather(*list(self._lanes), return_exceptions=True)

    async def aclose(self, grace: float = SEND_TIMEOUT + 1.0) -> None:
        """Let lanes finish within ``grace`` seconds, cancel the rest (their leases run out and
        another run sends them again), close the HTTP client."""
        if self._lanes:
            _, pending = await asyncio.wait(set(self._lanes), timeout=grace)
            for lane in pending:
                lane.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        await self.client.aclose()
