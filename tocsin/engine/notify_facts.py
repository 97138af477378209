"""What the notify step reads about a batch of due notifications, in a fixed number of queries:
the incidents they page for, who is assigned now, the services' names and maintenance windows,
and each incident's first alert (its details go into the message)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db.base import table_of
from tocsin.db.id_lists import holds_one_of, one_of
from tocsin.incidents.models import Alert, Incident, IncidentAssignment
from tocsin.maintenance.queries import services_in_maintenance
from tocsin.notifications.messages import IncidentFacts, alert_details, one_line
from tocsin.notifications.models import INCIDENT, PENDING, MessageReceipt, Notification
from tocsin.services.queries import service_names


@dataclass(frozen=True, slots=True)
class PagedIncident:
    """What a page needs of its incident (read as a row, not an ORM object: a batch reads up to 500)."""

    id: str
    number: int
    title: str
    status: str
    urgency: str
    service_id: str
    details: str | None


_I = table_of(Incident).c
_PAGED = select(_I.id, _I.number, _I.title, _I.status, _I.urgency, _I.service_id, _I.details)
# The batch's reads, built once (building a statement costs more than running it on a small
# batch), each list of ids bound as one parameter (``db.id_lists``).
_PAGED_OF = _PAGED.where(one_of(_I.id, name="ids"))
_PAGED_LOCKED = _PAGED_OF.with_for_update(read=True, skip_locked=True)
_EXISTING = select(_I.id).where(one_of(_I.id, name="ids"))
_R = table_of(MessageReceipt).c
_RECEIPTS = (select(_R.id, _R.notification_ids, _R.provider_response, _R.bundle)
             .where(holds_one_of(_R.notification_ids, name="ids")))
_A = table_of(IncidentAssignment).c
_ASSIGNEES = select(_A.incident_id, _A.user_id).where(one_of(_A.incident_id, name="ids"))
_AL = table_of(Alert).c
_RANKED = (
    select(_AL.incident_id, _AL.summary, _AL.body,
           func.row_number().over(partition_by=_AL.incident_id, order_by=(_AL.created_at, _AL.id)).label("n"))
    .where(one_of(_AL.incident_id, name="ids")).subquery()
)
_FIRST_ALERTS = select(_RANKED.c.incident_id, _RANKED.c.summary, _RANKED.c.body).where(_RANKED.c.n == 1)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A ``MessageReceipt`` as the notify step reads it."""

    id: str
    covers: frozenset[str]  # the notification rows the message carried
    provider_response: dict[str, Any] | None
    bundle: str | None


@dataclass
class BatchFacts:
    incidents: dict[str, PagedIncident] = field(default_factory=dict)
    assignees: dict[str, set[str]] = field(default_factory=dict)  # incident id -> user ids
    services: dict[str, str] = field(default_factory=dict)  # service id -> name
    maintenance: dict[str, str] = field(default_factory=dict)  # service id -> open window id
    first_alerts: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # summary, payload
    busy: set[str] = field(default_factory=set)  # incidents a change holds locked: their rows wait
    # notification id -> the provider's acceptance an engine recorded before dying (sent already)
    receipts: dict[str, Receipt] = field(default_factory=dict)
    recorded: set[str] = field(default_factory=set)  # rows whose outcome this run recorded already (SQLite)

    def incident_facts(self, incident: PagedIncident) -> IncidentFacts:
        """The incident as a message shows it: the first alert's details (and its summary when it
        says more than the title), or the details given through the API."""
        details: tuple[tuple[str, str], ...] = ()
        first = self.first_alerts.get(incident.id)
        if first is not None:
            summary, payload = first
            details = alert_details(payload)
            if one_line(summary) and one_line(summary) != one_line(incident.title):
                details = (("Alert", one_line(summary)), *details)
        elif incident.details:
            details = (("Details", one_line(incident.details)),)
        return IncidentFacts(id=incident.id, number=incident.number, title=incident.title,
                             urgency=incident.urgency, service_name=self.services.get(incident.service_id, ""),
                             details=details)


class SendRow(Protocol):
    """What the notify step reads of a notification row (a ``DueSend``; an ORM ``Notification``
    has the same attributes)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def incident_id(self) -> str | None: ...
    @property
    def user_id(self) -> str: ...
    @property
    def contact_method_id(self) -> str | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def address(self) -> str: ...


@dataclass(frozen=True, slots=True)
class DueSend:
    """A pending notification as the notify step claims it: a plain row, not an ORM object (a
    batch reads up to 500; loading them into the session cost more than sending them)."""

    id: str
    kind: str
    incident_id: str | None
    user_id: str
    contact_method_id: str | None
    channel: str
    address: str
    detail: dict[str, Any] | None
    attempts: int
    due_at: datetime
    status: str


_N = table_of(Notification).c
_DUE = (select(_N.id, _N.kind, _N.incident_id, _N.user_id, _N.contact_method_id, _N.channel, _N.address,
               _N.detail, _N.attempts, _N.due_at, _N.status)
        .where(_N.status == PENDING, _N.due_at <= bindparam("now")).order_by(_N.due_at, _N.id)
        .limit(bindparam("limit")))
_DUE_LOCKED = _DUE.with_for_update(skip_locked=True)
_STATUSES = select(_N.id, _N.status).where(one_of(_N.id, name="ids"))
_LATER = select(func.min(_N.due_at)).where(_N.status == PENDING, _N.due_at > bindparam("now"))
_STILL_DUE = select(_N.id).where(_N.status == PENDING, _N.due_at <= bindparam("now")).limit(1)


async def claim_due(session: AsyncSession, now: datetime, limit: int, *, lock: bool) -> list[DueSend]:
    """Up to ``limit`` pending notifications due at ``now``, oldest due first. ``lock``
    (PostgreSQL): lock them, passing over rows another engine holds, until the transaction ends."""
    rows = await session.execute(_DUE_LOCKED if lock else _DUE, {"now": now, "limit": limit})
    return [DueSend(*row) for row in rows]


async def current_statuses(session: AsyncSession, ids: Iterable[str]) -> dict[str, str]:
    """The status of each of the notifications ``ids`` (one query; a missing one is absent)."""
    rows = await session.execute(_STATUSES, {"ids": list(ids)})
    return {str(nid): str(status) for nid, status in rows.all()}


def _paged(rows: Iterable[Any]) -> dict[str, PagedIncident]:
    return {row.id: PagedIncident(*row) for row in rows}


async def load_incidents(session: AsyncSession, incident_ids: set[str]) -> dict[str, PagedIncident]:
    if not incident_ids:
        return {}
    return _paged(await session.execute(_PAGED_OF, {"ids": list(incident_ids)}))


def message_key(row: SendRow) -> tuple[str, ...]:
    """Which message a due row goes in: one person's incident pages to one contact method in one
    run share one (a bundle, ``notifications.bundles``); any other row is a message of its own."""
    if row.kind != INCIDENT:
        return (row.id,)
    return (row.user_id, row.contact_method_id or "", row.channel, row.address)


def paged_alone(rows: Sequence[SendRow]) -> set[str]:
    """The incidents some row pages in a message of its own: only those show their first alert's
    details (a bundle lists titles), so only theirs are read."""
    incidents: dict[tuple[str, ...], set[str]] = {}
    for row in rows:
        if row.kind == INCIDENT and row.incident_id:
            incidents.setdefault(message_key(row), set()).add(row.incident_id)
    return {i for found in incidents.values() if len(found) == 1 for i in found}


async def load_facts(session: AsyncSession, rows: Sequence[SendRow], now: datetime, *,
                     lock: bool) -> BatchFacts:
    """``lock`` (PostgreSQL): share-lock the incidents for the rest of the transaction, so none
    changes between the check and the send, passing over those a change holds (``busy``). Never
    waiting for an incident here is what keeps this free of deadlocks: a change locks its incident
    first and then cancels its pending notifications, the reverse of this step's order."""
    facts = BatchFacts()
    if rows:
        found = await session.execute(_RECEIPTS, {"ids": [r.id for r in rows]})
        for rid, covers, response, bundle in found:
            receipt = Receipt(rid, frozenset(covers), response, bundle)
            facts.receipts.update(dict.fromkeys(covers, receipt))
    incident_ids = {r.incident_id for r in rows if r.kind == INCIDENT and r.incident_id}
    if not incident_ids:
        return facts
    if lock:
        facts.incidents = _paged(await session.execute(_PAGED_LOCKED, {"ids": sorted(incident_ids)}))
        missing = incident_ids - facts.incidents.keys()
        if missing:  # gone, or held by a change right now
            facts.busy = set(await session.scalars(_EXISTING, {"ids": list(missing)}))
    else:
        facts.incidents = await load_incidents(session, incident_ids)
    for incident_id, user_id in await session.execute(_ASSIGNEES, {"ids": list(incident_ids)}):
        facts.assignees.setdefault(incident_id, set()).add(user_id)
    service_ids = {i.service_id for i in facts.incidents.values()}
    facts.services = await service_names(session, service_ids)
    facts.maintenance = await services_in_maintenance(session, service_ids, now)
    # A row cancelled after this read can leave its bundle's partner paged alone without the
    # details: it still names the incident, its title and its links.
    alone = sorted(paged_alone(rows))
    if alone:
        for incident_id, summary, body in await session.execute(_FIRST_ALERTS, {"ids": alone}):
            facts.first_alerts[incident_id] = (summary, body if isinstance(body, dict) else {})
    return facts


async def next_due_after(session: AsyncSession, now: datetime) -> datetime | None:
    """The earliest pending due time after ``now`` (an index seek)."""
    return await session.scalar(_LATER, {"now": now})


async def next_pending(session: AsyncSession, now: datetime) -> tuple[datetime | None, bool]:
    """The earliest pending due time after ``now``, and whether any pending row is due at
    ``now`` still (on PostgreSQL after a claim: rows another engine holds). Two index seeks."""
    later = await next_due_after(session, now)
    due = await session.scalar(_STILL_DUE, {"now": now})
    return later, due is not None
