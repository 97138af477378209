"""The notify step: sends due notifications, retries transient failures, records every outcome.

PostgreSQL: a small batch of due rows is claimed ``FOR UPDATE SKIP LOCKED``, their incidents
share-locked ``SKIP LOCKED`` (rows of an incident a change holds wait for the next run: the
change locked the incident first and will cancel or keep them; waiting for it here could
deadlock), and the transaction stays open while the batch is sent (concurrently, bounded), then
the outcomes are written and it commits. Other engines pass over the locked rows; if this
engine dies mid-send its locks go with its connection and another engine sends again at once
(at least once; the stable Message-ID and notification id let a receiver tell).

SQLite (one engine per database): the due rows are read and sent outside any transaction; each
message the provider accepts is recorded as final at once, in a short write transaction of its own
(no receipt needed: nothing else claims the rows), and the other outcomes in one write at the end.

Before an incident page is sent the incident must still want it: triggered, the user still
assigned (else CANCELLED), its service not in maintenance (else SUPPRESSED). Each row stands
alone: a contact method that fails never holds up the user's other rules. An incident page's
final outcome (sent or failed) becomes a ``notify_log_entry`` through the transition seam.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random as random_module
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db.base import table_of
from tocsin.db.bulk import insert_many, update_all, update_many
from tocsin.db.session import Database
from tocsin.engine.notify_compose import Send, compose, not_to_send
from tocsin.engine.notify_facts import (
    BatchFacts,
    DueSend,
    PagedIncident,
    Receipt,
    claim_due,
    current_statuses,
    load_facts,
    next_due_after,
    next_pending,
)
from tocsin.engine.notify_send import Outcome, SendObserver, attempt
from tocsin.engine.receipts import RECEIPTS, receipt_row, settle
from tocsin.engine.step import NOTIFY_STEP, StepResult
from tocsin.incidents.transition_records import Act, IncidentState, Notify, Record
from tocsin.incidents.transition_writer import record_without_change, user_ref
from tocsin.incidents.transitions import decide
from tocsin.notifications.channel import ChannelSet
from tocsin.notifications.models import (
    EMAIL,
    FAILED,
    INCIDENT,
    PENDING,
    PHONE,
    PUSH,
    SENT,
    SMS,
    Notification,
)
from tocsin.notifications.queries import link_secret

logger = logging.getLogger(__name__)

# PagerDuty's Notification.type per channel, for notify_log_entry.
NOTIFICATION_TYPES = {EMAIL: "email_notification", SMS: "sms_notification", PHONE: "phone_notification",
                      PUSH: "push_notification"}
LOG_STATUS = {SENT: "success", FAILED: "failed"}
_NOTIFICATIONS = table_of(Notification)


# Running apart, the step tells the escalate step how far it has caught up (``horizon``) only
# while it is alive: a step that has not finished a run for this long holds no escalation back.
HORIZON_STALE_SECONDS = 30.0
GATHER_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class _Batch:
    handled: list[tuple[Outcome, str]]  # each row's outcome and channel
    later: datetime | None  # the next pending due time after now
    skipped_locked: bool
    more: bool
    # Every page due before this was handled by now (this run or an earlier one); None: ``now``.
    caught_up_to: datetime | None = None


class NotifyStep:
    name = NOTIFY_STEP
    # A batch is sent concurrently (every send starts at once: ``concurrency`` is at least the
    # batch size; each channel bounds its own connections to its provider), each send bounded by
    # ``send_timeout``: one run is about one send long. Over the budget the run is cut off and its
    # transaction rolled back (re-sent).
    budget_seconds = 60.0
    background = False
    # PostgreSQL: a loop of its own (``Step.runs_apart``), so the escalate step's transactions go on
    # while a batch waits on its SMTP and database round trips (10,000 escalations with their
    # pages: 8.8 s -> 6.5 s, ARCHITECTURE.md). SQLite: in line; its one writer serialises the two
    # anyway, and the reads of a batch running beside the escalations' writes cost twice the CPU.
    runs_apart: bool
    # An alert storm's pages: one run (and one bundled message a person) per this many seconds,
    # not one per commit of the events processor (``agenda``; ARCHITECTURE.md, "Measured ingest").
    # A page after a quiet spell still goes out at once; at 50 incidents/s p99 trigger -> email
    # went from 60 to 170 ms (target 1 s), ingest with the engine inside 0.63 -> 0.52 ms CPU/event.
    gather_seconds = GATHER_SECONDS

    def __init__(
        self, db: Database, now: Callable[[], datetime], channels: ChannelSet, sent: SendObserver, base_url: str,
        *, batch_size: int = 500, concurrency: int = 500, send_timeout: float = 40.0,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self.db, self.now, self.channels, self.sent, self.base_url = db, now, channels, sent, base_url
        self.runs_apart = not db.is_sqlite
        # Until the first run, nothing is known to be sent: escalations wait for it.
        self._caught_up_to = datetime.min.replace(tzinfo=UTC)
        self._caught_up_checked = time.monotonic()
        self._stale_logged = False
        if concurrency < batch_size:
            raise ValueError("concurrency must be at least batch_size: a run must stay one send long")
        self.batch_size, self.send_timeout, self.random = batch_size, send_timeout, random
        self._concurrency = asyncio.Semaphore(concurrency)
        self._secret: bytes | None = None

    async def run(self, now: datetime) -> StepResult:
        secret = await self._link_secret(now)
        batch = await (self._run_sqlite(now, secret) if self.db.is_sqlite else self._run_locked(now, secret))
        self._caught_up_to = batch.caught_up_to or now
        self._caught_up_checked = time.monotonic()
        for (channel, metric), rows in Counter((channel, o.metric) for o, channel in batch.handled).items():
            self.sent(channel, metric, rows)
        return StepResult(done=len(batch.handled), more=batch.more, next_due=batch.later,
                          skipped_locked=batch.skipped_locked)

    def horizon(self) -> datetime | None:
        """How late an escalation timer may be due and still be acted on now (None: any).

        In line (SQLite) the tick runs this step before the escalate step, so the pages already
        due go out first. Running apart (PostgreSQL) the two steps overlap, and after an outage an
        overdue escalation could move an incident on before its earlier level's overdue page went
        out (the move cancels the page as no longer wanted): the escalate step acts only on timers
        due before the pages this step has handled, in due order (``caught_up_to``)."""
        if not self.runs_apart:
            return None
        if time.monotonic() - self._caught_up_checked > HORIZON_STALE_SECONDS:
            if not self._stale_logged:  # once per stall, not at every escalate run
                self._stale_logged = True
                logger.warning("the notify step has not finished a run for %.0f s: escalations no longer "
                               "wait for its pages", HORIZON_STALE_SECONDS)
            return None
        self._stale_logged = False
        return self._caught_up_to

    async def _link_secret(self, now: datetime) -> bytes:
        if self._secret is None:  # made on first use by whichever process comes first; then fixed
            async with self.db.write_turn(), self.db.transaction() as session:
                self._secret = await session.run_sync(link_secret, now)
        return self._secret

    # --- the two ways of claiming ------------------------------------------------------------

    async def _run_locked(self, now: datetime, secret: bytes) -> _Batch:
        async with self.db.transaction() as session:
            claimed = await claim_due(session, now, self.batch_size, lock=True)
            facts = await load_facts(session, claimed, now, lock=True)
            # A change holding the incident is about to decide these rows' fate: leave them be.
            rows = [r for r in claimed if r.incident_id not in facts.busy]
            outcomes = await self._deliver(rows, facts, secret, now)
            # The rows are locked since the claim: still pending.
            await self._record(session, rows, {r.id: r.status for r in rows}, facts.incidents, outcomes,
                               facts.receipts, fresh_receipts=True)
            later, due = await next_pending(session, now)
        # Rows left for a busy incident are first in line again: look again soon, not at once.
        more = len(claimed) == self.batch_size and len(rows) == len(claimed)
        handled = [(o, r.channel) for o, r in zip(outcomes, rows, strict=True)]
        # Left due: the rows of busy incidents, and (a full batch) any due after the last claimed.
        left = [r.due_at for r in claimed if r.incident_id in facts.busy]
        if len(claimed) == self.batch_size:
            left.append(claimed[-1].due_at)
        # Nothing left: caught up to the next pending page (rows another engine holds are its own).
        caught_up = min(left) if left else later or datetime.max.replace(tzinfo=UTC)
        return _Batch(handled, later, skipped_locked=len(rows) < len(claimed) or (due and not more), more=more,
                      caught_up_to=caught_up)

    async def _run_sqlite(self, now: datetime, secret: bytes) -> _Batch:
        async def due(session: AsyncSession) -> tuple[list[DueSend], BatchFacts, datetime | None]:
            rows = await claim_due(session, now, self.batch_size, lock=False)
            later = await next_due_after(session, now)  # here, not in the write: the write lock is held less
            return rows, await load_facts(session, rows, now, lock=False), later

        # Read on a read connection (nothing is held while sending); the rows come back detached.
        rows, facts, later = await self.db.read(due)
        if not rows:  # the usual tick: no write transaction at all
            return _Batch([], later, skipped_locked=False, more=False)
        outcomes = await self._deliver(rows, facts, secret, now)
        # Sends the provider accepted were recorded as they came back (``_accepted``): the rest now.
        left = [(r, o) for r, o in zip(rows, outcomes, strict=True) if r.id not in facts.recorded]
        if left:
            await self.db.write(lambda session: self._record_checked(session, left, facts))
        handled = [(o, r.channel) for o, r in zip(outcomes, rows, strict=True)]
        more = len(rows) == self.batch_size
        # The next pending time: as read, or a retry this run set (one engine per SQLite database:
        # what other transactions store since the read they announce themselves).
        retries = [o.due_at for o in outcomes if o.status == PENDING and o.due_at is not None]
        later = min([t for t in (later, *retries) if t is not None], default=None)
        # Rows still due that this run left (no connection came free): look again soon.
        still_due = any(o.status == PENDING and o.due_at is None for o in outcomes)
        return _Batch(handled, later, skipped_locked=still_due and not more, more=more)

    # --- deciding and sending (what to send: ``notify_compose``) --------------------------------

    async def _deliver(self, rows: Sequence[DueSend], facts: BatchFacts, secret: bytes,
                       now: datetime) -> list[Outcome]:
        """Decide, compose and send: each row's outcome, in the order of ``rows``."""
        decided: dict[str, Outcome] = {}
        to_send: list[DueSend] = []
        for row in rows:
            receipt = facts.receipts.get(row.id)
            if receipt is not None:  # sent by an engine that died before recording it: not again
                decided[row.id] = Outcome(row.id, SENT, attempted=True, response=receipt.provider_response,
                                          bundle=receipt.bundle)
                continue
            outcome = not_to_send(row, facts)
            if outcome is None:
                to_send.append(row)
            else:
                decided[row.id] = outcome
        sends = compose(to_send, facts, secret, now, self.base_url, decided)
        sent = await asyncio.gather(*(self._send(send, facts) for send in sends))
        for send, outcome in zip(sends, sent, strict=True):
            for row in send.rows:  # a bundle's outcome is each of its rows' outcome (its lead's id: unused)
                decided[row.id] = outcome
        return [decided[row.id] for row in rows]

    async def _send(self, send: Send, facts: BatchFacts) -> Outcome:
        """The message's outcome, shared by its rows (naming the bundle, if it is one)."""
        async with self._concurrency:
            outcome = await attempt(self.channels.for_channel(send.rows[0].channel), send.message,
                                    attempts_before=max(row.attempts for row in send.rows),
                                    within=self.send_timeout, now=self.now, random=self.random)
            outcome = dataclasses.replace(outcome, bundle=send.bundle)
            if outcome.status == SENT:
                await self._accepted(send, outcome, facts)
            return outcome

    async def _accepted(self, send: Send, outcome: Outcome, facts: BatchFacts) -> None:
        """Commit the provider's acceptance at once, in a transaction of its own, so an engine that
        dies before the batch is recorded does not send it again.

        SQLite (one engine, no row locks): the acceptance is the final outcome, recorded now (the
        rows' status, their ``notify_log_entry``); the batch's own write then covers only the
        rest. PostgreSQL: the claim's transaction holds the rows until it records the batch, so
        the acceptance goes in as a ``MessageReceipt`` on a connection of its own, which the
        next claimer finds should this engine die first."""
        if self.db.is_sqlite:
            try:
                await self.db.write(lambda session: self._record_checked(
                    session, [(row, outcome) for row in send.rows], facts))
            except Exception:  # a receipt, as PostgreSQL writes, so a failing record never sends it again
                logger.warning("notification %s: could not record the provider's acceptance; storing a receipt",
                               send.rows[0].id, exc_info=True)
            else:
                facts.recorded.update(row.id for row in send.rows)
                return
        ids = [row.id for row in send.rows]
        receipt = receipt_row(ids, self.now(), outcome.response, outcome.bundle)
        try:
            if self.db.is_sqlite:
                await self.db.write(lambda session: session.run_sync(insert_many, RECEIPTS, [receipt]))
                # The run's last write records these rows: it deletes their receipt with them.
                facts.receipts.update(dict.fromkeys(ids, Receipt(ids[0], frozenset(ids), outcome.response,
                                                                 outcome.bundle)))
            else:
                async with self.db.engine.begin() as connection:
                    await connection.execute(insert(RECEIPTS), receipt)
        except Exception:  # the send happened: record it with the batch; only a crash now could double it
            logger.warning("notification %s: could not store the provider's receipt", send.rows[0].id, exc_info=True)

    # --- recording ----------------------------------------------------------------------------

    async def _record_checked(self, session: AsyncSession, done: Sequence[tuple[DueSend, Outcome]],
                              facts: BatchFacts) -> None:
        """SQLite: record ``done`` after reading the rows' statuses again under the write lock
        (the planner may have cancelled a row since the read)."""
        rows = [row for row, _ in done]
        statuses = await current_statuses(session, [row.id for row in rows])
        await self._record(session, rows, statuses, facts.incidents, [outcome for _, outcome in done],
                           facts.receipts, fresh_receipts=False)

    async def _record(self, session: AsyncSession, rows: Sequence[DueSend], statuses: Mapping[str, str],
                      incidents: Mapping[str, PagedIncident], outcomes: Sequence[Outcome],
                      receipts: Mapping[str, Receipt], *, fresh_receipts: bool) -> None:
        """Write every outcome set-based: one UPDATE for a bundle's rows (they share its outcome),
        one executemany per shape of outcome for the rest, and one insert of the
        ``notify_log_entry`` rows of the final outcomes of incident pages. ``statuses``: each
        row's status now (a row gone from ``statuses`` is skipped). ``receipts``: the receipts
        known for the rows; ``fresh_receipts``: this run's accepted sends wrote one each."""
        at = self.now()
        alike: dict[tuple[object, ...], tuple[Outcome, list[str]]] = {}  # one outcome's values: its rows
        notified: list[Record] = []
        acts: dict[tuple[str, str, str, str], tuple[Notify, Act]] = {}  # shared by a bundle's log entries
        for row, outcome in zip(rows, outcomes, strict=True):
            status = statuses.get(row.id)
            if status is None or status in (SENT, FAILED):  # gone, or final already: never recorded twice
                continue
            if status != PENDING and not (outcome.attempted and outcome.status in (SENT, FAILED)):
                continue  # cancelled while we decided (SQLite); a send that happened is still recorded
            # The rows of one send share its response object: identity tells them apart from another's.
            key = (outcome.attempted, outcome.status, outcome.error, outcome.due_at,
                   outcome.bundle if outcome.attempted else None, id(outcome.response))
            alike.setdefault(key, (outcome, []))[1].append(row.id)
            incident = incidents.get(row.incident_id or "")
            if row.kind == INCIDENT and outcome.status in LOG_STATUS and incident is not None:
                said = (row.user_id, row.channel, row.address, LOG_STATUS[outcome.status])
                if said not in acts:
                    acts[said] = self._notify_act(row, LOG_STATUS[outcome.status], at)
                command, act = acts[said]
                # Only the incident's id matters to a send's record: no snapshot of the whole row.
                notified.extend(decide(IncidentState(id=incident.id, status=incident.status), command, act))
        # A bundle's rows: one UPDATE by their ids. Rows alone: one executemany per shape of outcome.
        by_shape: dict[tuple[object, ...], list[dict[str, Any]]] = {}
        for outcome, ids in alike.values():
            values = self._values(outcome, at)
            if len(ids) > 1:
                await session.run_sync(update_all, _NOTIFICATIONS, "id", ids, values,
                                       increment=("attempts",) if outcome.attempted else ())
            else:
                by_shape.setdefault((outcome.attempted, *values), []).append({"id": ids[0], **values})
        for (attempted, *_), shaped in by_shape.items():
            await session.run_sync(update_many, _NOTIFICATIONS, "id", shaped,
                                   increment=("attempts",) if attempted else ())
        await record_without_change(session, lambda incident_id: incidents[incident_id].service_id, notified)
        # Recorded: the receipts of this batch's sends have done their part.
        await settle(session, rows, outcomes, receipts, fresh=fresh_receipts, sqlite=self.db.is_sqlite)

    @staticmethod
    def _values(outcome: Outcome, at: datetime) -> dict[str, Any]:
        """The columns an outcome sets on its rows."""
        values: dict[str, Any] = {"status": outcome.status, "updated_at": at, "last_error": outcome.error}
        if outcome.attempted:
            values["provider_response"] = outcome.response
        if outcome.status == SENT:
            values["sent_at"] = at
        if outcome.due_at is not None:
            values["due_at"] = outcome.due_at
        if outcome.attempted and outcome.bundle is not None:  # which bundle a reply by SMS or phone acts on
            values["detail"] = {"bundle": outcome.bundle}  # (tocsin.engine.actions)
        return values

    @staticmethod
    def _notify_act(row: DueSend, status: str, at: datetime) -> tuple[Notify, Act]:
        """The command and act of a send's final outcome, for the transition seam to decide."""
        kind = NOTIFICATION_TYPES.get(row.channel, f"{row.channel}_notification")
        notification = {"type": kind, "status": status, "address": row.address}
        act = Act(at=at, agent=user_ref(row.user_id),
                  channel={"type": "auto", "notification": notification, "user": user_ref(row.user_id)})
        return Notify(row.user_id, kind, row.address, status), act
