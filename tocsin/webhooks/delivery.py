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
   write transaction (``record``) and wakes the engine, which claims what became due.

Judging (``retry.judge``): 2xx delivered; timeout, connection or DNS failure, 429, 5xx retried on
the schedule (``retry.retry_delay``) until it gives up; any other answer fails the delivery at once.
After recording, a destination with failures in the batch is judged (``health``): at 60 % or more
failed deliveries in the last 12 hours (at least 10 of them) it is disabled, its queue dropped and
the admins told (``notices.switch_off``), all in the recording transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import httpx
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from tocsin.audit.recorder import SYSTEM, record
from tocsin.db.base import table_of
from tocsin.db.session import Database
from tocsin.webhooks import health, notices
from tocsin.webhooks.destinations import KINDS, Claimed
from tocsin.webhooks.models import (
    CHAT,
    DELIVERED,
    FAILED,
    FORWARDER,
    PENDING,
    RETRY,
    Delivery,
    DeliveryAttempt,
    Destination,
    ServiceDestination,
    WebhookSubscription,
)
from tocsin.webhooks.request import OutboundRequest
from tocsin.webhooks.retry import DROP, judge, retry_delay
from tocsin.webhooks.vault import Vault, vault

log = logging.getLogger(__name__)
T = TypeVar("T")

LEASE = timedelta(seconds=60)  # longer than a send and its recording; how long a dead engine's claim blocks
SEND_TIMEOUT = 5.0  # seconds for the whole exchange (PagerDuty expects a 2xx within 5 s)
PER_DESTINATION = 16  # deliveries of one destination in flight in this process
BATCH = 200
ERROR_BODY = 300  # characters of a refusal's body kept in the attempt's error


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST's outcome: the answer's status (None: none came) or why it failed."""

    started_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


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


# --- sending -----------------------------------------------------------------------------------------

async def send(client: httpx.AsyncClient, request: OutboundRequest, now: Callable[[], datetime], *,
               within: float = SEND_TIMEOUT) -> Attempt:
    """POST once, within ``within`` seconds for the whole exchange. Never raises."""
    timeout = within
    started_at, started = now(), time.perf_counter()

    def took() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        async with asyncio.timeout(timeout):
            async with client.stream("POST", request.url, content=request.body, headers=list(request.headers),
                                     follow_redirects=False) as response:
                status = response.status_code
                error = None
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
                    if 300 <= status < 400:
                        error += f" (redirect to {response.headers.get('location', '?')} not followed)"
                    snippet = await _head_of(response)
                    if snippet:
                        error += f": {snippet}"
                return Attempt(started_at, status, took(), error)
    except TimeoutError:
        return Attempt(started_at, None, took(), f"no answer within {timeout:g} s")
    except httpx.TimeoutException:
        return Attempt(started_at, None, took(), f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return Attempt(started_at, None, took(), f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    except Exception as exc:  # a transport's surprise is retried like a connection failure
        # The URL is not logged: its query may carry a receiver's token.
        log.exception("webhook delivery %s failed unexpectedly", dict(request.headers).get("X-Webhook-Id"))
        return Attempt(started_at, None, took(), f"unexpected {type(exc).__name__}: {exc}")


async def _head_of(response: httpx.Response) -> str:
    """The first characters of a refusal's body (never more is read)."""
    taken = b""
    async for chunk in response.aiter_bytes():
        taken += chunk
        if len(taken) >= ERROR_BODY:
            break
    return " ".join(taken[:ERROR_BODY].decode(errors="replace").split())


# --- recording ------------------------------------------------------------------------------------

def record_outcomes(session: Session, outcomes: Sequence[tuple[Claimed, Attempt | str]], now: datetime) -> list[str]:
    """Write each attempt and its delivery's new state; judge the destinations that failed. A str
    outcome is a delivery that could not even be made (no request): failed at once. Returns the
    destinations disabled."""
    t = table_of(Delivery)
    attempts: list[dict[str, Any]] = []
    by_shape: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    failing: set[str] = set()
    finished: dict[str, int] = {}
    for claimed, outcome in outcomes:
        if isinstance(outcome, str):
            attempt = Attempt(now, None, 0, outcome)
            verdict = DROP
        else:
            attempt = outcome
            verdict = judge(attempt.status_code)
        made = claimed.attempts + 1
        if verdict == DELIVERED:
            status, due, outcome_name = DELIVERED, claimed.leased_until, DELIVERED
        elif verdict == DROP:
            status, due, outcome_name = FAILED, claimed.leased_until, FAILED
        else:
            wait = retry_delay(made)
            if wait is None:
                status, due, outcome_name = FAILED, claimed.leased_until, FAILED
                attempt = Attempt(attempt.started_at, attempt.status_code, attempt.latency_ms,
                                  f"{attempt.error} (gave up after {made} attempts)")
            else:
                status, due, outcome_name = PENDING, now + wait, RETRY
        if status == FAILED:
            failing.add(claimed.destination_id)
        if status != PENDING:
            finished[claimed.destination_id] = finished.get(claimed.destination_id, 0) + 1
        attempts.append({"delivery_seq": claimed.seq, "attempted_at": attempt.started_at,
                         "status_code": attempt.status_code, "latency_ms": attempt.latency_ms,
                         "error": attempt.error, "outcome": outcome_name})
        by_shape.setdefault((status, status == PENDING), []).append({
            "b_seq": claimed.seq, "b_lease": claimed.leased_until, "b_status": status, "b_due": due,
            "b_attempts": made, "b_code": attempt.status_code, "b_error": attempt.error})
    for (_, retrying), params in by_shape.items():
        values: dict[str, Any] = {"status": bindparam("b_status"), "attempts": bindparam("b_attempts"),
                                  "last_status_code": bindparam("b_code"), "last_error": bindparam("b_error"),
                                  "due_at": bindparam("b_due")}
        if not retrying:
            values["finished_at"] = now
        # Only while this engine's lease holds: a delivery dropped meanwhile (its destination
        # switched off) or taken over after the lease ran out is not overwritten.
        session.execute(update(t).where(t.c.seq == bindparam("b_seq"), t.c.status == PENDING,
                                        t.c.due_at == bindparam("b_lease")).values(values), params)
    if attempts:
        # A delivery deleted meanwhile (its subscription was) keeps no attempts.
        alive = set(session.scalars(select(t.c.seq).where(t.c.seq.in_([a["delivery_seq"] for a in attempts]))))
        attempts = [a for a in attempts if a["delivery_seq"] in alive]
    if attempts:
        session.execute(insert(table_of(DeliveryAttempt)), attempts)
    return [d for d in sorted(finished) if judge_destination(session, d, now, failed_now=d in failing,
                                                              finished_now=finished[d])]


def judge_destination(session: Session, destination_id: str, now: datetime, *, failed_now: bool = True,
                      finished_now: int = 0) -> bool:
    """Disable the destination when the failure-rate rule says so (``health``); whether it was.
    ``failed_now``: a delivery just failed; else ``finished_now`` just succeeded, which lowers the
    rate and can disable only by bringing the window up to the minimum count (checked with a
    bounded count, so a busy healthy destination costs one short index read)."""
    destination = session.scalar(select(Destination).where(Destination.id == destination_id).with_for_update())
    if destination is None or destination.temporarily_disabled or not destination.active:
        return False
    start = health.window_start(now, destination.judged_since)
    if not failed_now:
        cap = health.MIN_DELIVERIES + finished_now
        seen = session.scalar(select(func.count()).select_from(
            select(Delivery.seq).where(Delivery.destination_id == destination_id, Delivery.finished_at >= start,
                                       Delivery.status.in_((DELIVERED, FAILED))).limit(cap).subquery()))
        if (seen or 0) >= cap:
            return False  # judged when the window reached the minimum; successes only lower the rate
    counts: dict[str, int] = dict(session.execute(
        select(Delivery.status, func.count()).where(Delivery.destination_id == destination_id,
                                                    Delivery.finished_at >= start,
                                                    Delivery.status.in_((DELIVERED, FAILED)))
        .group_by(Delivery.status)).all())
    delivered, failed = counts.get(DELIVERED, 0), counts.get(FAILED, 0)
    if not health.should_disable(delivered, failed):
        return False
    reason = health.failure_reason(delivered, failed)
    before = {"temporarily_disabled": False}
    destination.temporarily_disabled = True
    destination.disabled_reason = reason
    destination.updated_at = now
    label, resource, noun, path = _described(session, destination)
    session.flush()
    # The recorder adds to the session it is given; this synchronous one serves the same.
    record(cast(AsyncSession, session), SYSTEM, action="update", resource_type=resource,
           resource_id=destination_id, summary=label, before=before,
           after={"temporarily_disabled": True}, at=now)
    dropped = notices.switch_off(session, what="disabled", destination_id=destination_id,
                                 label=label, url=destination.url, why=reason, now=now, noun=noun, path=path)
    log.warning("%s %s disabled: %s; %d queued deliveries dropped", noun, destination_id, reason, dropped)
    return True


def _described(session: Session, destination: Destination) -> tuple[str, str, str, str]:
    """(label, audit resource type, noun, REST path) of a destination, by its kind."""
    if destination.kind in (FORWARDER, CHAT):
        found = session.execute(select(ServiceDestination.description, ServiceDestination.service_id)
                                .where(ServiceDestination.id == destination.id)).first()
        description, service_id = found if found is not None else (None, "?")
        collection = "forwarders" if destination.kind == FORWARDER else "chat_webhooks"
        noun = "forwarder" if destination.kind == FORWARDER else "chat webhook"
        return (description or destination.url, noun.replace(" ", "_"), noun,
                f"/services/{service_id}/{collection}/{destination.id}")
    label = session.scalar(select(WebhookSubscription.description).where(WebhookSubscription.id == destination.id))
    return label or destination.url, "webhook_subscription", "webhook subscription", \
        f"/webhook_subscriptions/{destination.id}"


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
