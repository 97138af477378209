"""The reconciler: proof that no open incident is forgotten.

Every ``interval`` it walks the open incidents, a page at a time (keyset on id, one short
transaction per page, one page per run so the other steps interleave), and asks the planner to
bring each page's stored work in line with its facts (``planner.sync_incidents``). An incident
must either have future work pending or be legitimately waiting on a human (acknowledged with no
timeout, escalation exhausted); one that has neither was lost by a bug, and the planner repairs
it. Every repair is logged as a WARNING naming the incident and counted in the metrics: in a
healthy system the count stays at zero.

Several engines (PostgreSQL) share one walk per interval: the walk's start is kept in the
``reconcile`` engine cursor, and an engine finding a walk begun within the interval waits for
the next one. A transaction-scoped advisory lock keeps two engines' pages from running at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.db.session import Database
from tocsin.engine import planner
from tocsin.engine.claims import write_transaction
from tocsin.engine.metrics import EngineMetrics
from tocsin.engine.models import EngineCursor
from tocsin.engine.step import StepResult
from tocsin.incidents.models import Incident

log = logging.getLogger(__name__)
INTERVAL = timedelta(minutes=1)
PAGE = 200
OPEN = ("triggered", "acknowledged")
CURSOR = "reconcile"
RECONCILE_LOCK = 0x70C5_1E03  # advisory lock id (the processor's is ...01, retention's ...02)
LOCKED_RETRY = timedelta(seconds=1)  # another engine is on a page: look again this much later


# planner.sync_incidents: repairs the page's incidents in the caller's transaction and returns how
# many it repaired (or their ids, which the log then names one by one).
SyncIncidents = Callable[[Session, Sequence[str], datetime], int | Collection[str]]


@dataclass(frozen=True, slots=True)
class _Page:
    ids: list[str]
    repaired: int | Collection[str]  # a count, or the repaired incidents' ids when the planner names them


class ReconcileStep:
    name = "reconcile"
    budget_seconds = 30.0
    background = True  # an audit: gives way to escalations and sends due now (agenda)
    runs_apart = False
    gather_seconds = 0.0

    def __init__(self, db: Database, metrics: EngineMetrics, *, interval: timedelta = INTERVAL,
                 page_size: int = PAGE, sync: SyncIncidents | None = None) -> None:
        self._db = db
        self._sync = sync or planner.sync_incidents
        self._metrics = metrics
        self._interval = interval
        self._page_size = page_size
        self._walk_started: datetime | None = None  # the walk under way, None between walks
        self._after = ""  # keyset: the last incident id of the previous page
        self._next_walk: datetime | None = None
        self.walks = 0  # completed walks (tests, health)

    async def run(self, now: datetime) -> StepResult:
        if self._walk_started is None:
            if self._next_walk is not None and now < self._next_walk:
                return StepResult(next_due=self._next_walk)
            self._walk_started, self._after = now, ""
        started, after = self._walk_started, self._after
        page = await write_transaction(self._db, lambda session: self._page(session, started, after, now))
        if isinstance(page, datetime):  # not now: another engine is on a page, or walked lately
            if after == "":
                self._walk_started, self._next_walk = None, page
            return StepResult(next_due=page)
        repaired = self._report(page)
        if len(page.ids) < self._page_size:  # the last page: the walk is complete
            self._walk_started = None
            self._next_walk = started + self._interval
            self.walks += 1
            return StepResult(done=repaired, next_due=self._next_walk)
        self._after = page.ids[-1]
        return StepResult(done=repaired, more=True)

    def _page(self, session: Session, started: datetime, after: str, now: datetime) -> _Page | datetime:
        """One page in one transaction, or when to look again."""
        if session.get_bind().dialect.name == "postgresql" and not session.scalar(
                select(func.pg_try_advisory_xact_lock(RECONCILE_LOCK))):
            return now + LOCKED_RETRY
        if after == "":  # a walk begins, unless another engine began one within the interval
            cursor = session.get(EngineCursor, CURSOR)
            if cursor is not None and cursor.at > started - self._interval:
                return cursor.at + self._interval
            if cursor is None:
                session.add(EngineCursor(name=CURSOR, at=started))
            else:
                cursor.at = started
        page = select(Incident.id).where(Incident.status.in_(OPEN), Incident.id > after).order_by(Incident.id)
        if session.get_bind().dialect.name == "postgresql":
            # Lock the page's incidents as every change does first, passing over those a change
            # holds (it plans them itself): without the lock this read could see an incident
            # before an engine's escalation commits and its sends after, and cancel the new level's
            # pages as unwanted.
            page = page.with_for_update(skip_locked=True)
        ids = list(session.scalars(page.limit(self._page_size)))
        return _Page(ids, self._sync(session, ids, now) if ids else 0)

    def _report(self, page: _Page) -> int:
        if isinstance(page.repaired, int):
            count = page.repaired
            if count:
                log.warning("reconcile: REPAIRED %d open incident(s) with %s ... %s that lacked the work they need",
                            count, page.ids[0], page.ids[-1])
        else:
            count = len(page.repaired)
            for incident_id in page.repaired:
                log.warning("reconcile: REPAIRED incident %s: it lacked the pending work it needs", incident_id)
        self._metrics.repaired(count)
        return count
