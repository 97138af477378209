"""Reads of the incidents domain: lookups the routes and logic share, the bulk loads rendering
needs, and the public read surface for higher layers (events, api)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.errors import NotFound
from tocsin.escalation.queries import policy_labels
from tocsin.incidents.models import Alert, Incident, IncidentAssignment, IncidentNote, IncidentTimer, LogEntry, Priority
from tocsin.incidents.render_context import Context
from tocsin.services.models import Service
from tocsin.services.queries import service_names
from tocsin.users.queries import user_refs


async def get_incident(session: AsyncSession, incident_id: str, *, for_update: bool = False) -> Incident:
    """``for_update`` locks the row (PostgreSQL) so a concurrent change cannot be overwritten."""
    incident = await session.get(Incident, incident_id, with_for_update=for_update or None)
    if incident is None:
        raise NotFound(f"Incident {incident_id} not found", errors=["Incident not found"])
    return incident


async def lock_incidents(session: AsyncSession, incident_ids: Iterable[str]) -> None:
    """Lock these incidents' rows (PostgreSQL) in id order — the order the event processor locks
    them in — so a request changing several incidents cannot deadlock with it or with another
    such request. Unknown ids are skipped (the caller reports them)."""
    ids = sorted(set(incident_ids))
    if ids and session.get_bind().dialect.name == "postgresql":
        await session.execute(select(Incident.id).where(Incident.id.in_(ids)).order_by(Incident.id).with_for_update())


async def get_priority(session: AsyncSession, priority_id: str) -> Priority:
    priority = await session.get(Priority, priority_id)
    if priority is None:
        raise NotFound(f"Priority {priority_id} not found", errors=["Priority not found"])
    return priority


async def priority_by_name(session: AsyncSession, name: str) -> Priority | None:
    """The highest priority (lowest position) with exactly this name, as PagerDuty picks."""
    rows = await session.execute(
        select(Priority).where(Priority.name == name).order_by(Priority.position, Priority.id).limit(1)
    )
    return rows.scalar_one_or_none()


async def priority_choices(session: AsyncSession) -> list[tuple[str, str]]:
    """(id, name) of every priority, highest first (what a person may set an incident to)."""
    rows = await session.execute(select(Priority.id, Priority.name).order_by(Priority.position, Priority.id))
    return [(i, n) for i, n in rows]


MAX_NUMBER = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL: a larger number names nothing


async def find_incident_id(session: AsyncSession, named: str) -> str | None:
    """The id of the incident a person named by its number (``42``, ``#42``) or its id, if any."""
    named = named.strip().removeprefix("#").strip()
    if named.isdigit():
        if int(named) > MAX_NUMBER:
            return None
        condition = Incident.number == int(named)
    else:
        condition = Incident.id == named
    rows = await session.execute(select(Incident.id).where(condition).limit(1))
    return rows.scalar_one_or_none()


async def open_incident_with_key(session: AsyncSession, service_id: str, incident_key: str) -> str | None:
    """The id of an open incident of the service with this key, if any."""
    rows = await session.execute(
        select(Incident.id).where(
            Incident.service_id == service_id, Incident.incident_key == incident_key,
            Incident.status != "resolved",
        ).limit(1)
    )
    return rows.scalar_one_or_none()


async def live_service(session: AsyncSession, service_id: str) -> Service | None:
    service = await session.get(Service, service_id)
    return service if service is not None and service.deleted_at is None else None


def _user_ids(incidents: Iterable[Incident], agents: Iterable[dict[str, Any] | None]) -> set[str]:
    ids = {a["id"] for a in agents if a and a["type"] == "user_reference"}
    for incident in incidents:
        for agent in [incident.last_status_change_by, *(a["acknowledger"] for a in incident.acknowledgements)]:
            if agent and agent["type"] == "user_reference":
                ids.add(agent["id"])
        ids.update(a["assignee"]["id"] for a in incident.assignments)
    return ids


async def _load_services(session: AsyncSession, ctx: Context, service_ids: set[str]) -> None:
    """Names and facts in one read (deleted services too: old incidents name them)."""
    if not service_ids:
        return
    rows = await session.execute(select(Service).where(Service.id.in_(list(service_ids))))
    for s in rows.scalars():
        ctx.service_names[s.id] = s.name
        ctx.services[s.id] = {
            "name": s.name, "description": s.description, "status": s.status,
            "auto_resolve_timeout": s.auto_resolve_timeout, "acknowledgement_timeout": s.acknowledgement_timeout,
            "escalation_policy_id": s.escalation_policy_id,
        }


async def fill_context(
    session: AsyncSession, ctx: Context, incidents: list[Incident],
    agents: Iterable[dict[str, Any] | None] = (), user_ids: Iterable[str] = (),
) -> None:
    """Load, in a few bulk queries, every name and fact rendering ``incidents`` needs."""
    ids = [i.id for i in incidents]
    await _load_services(session, ctx, {i.service_id for i in incidents})
    ctx.users.update(await user_refs(session, _user_ids(incidents, agents) | set(user_ids)))
    policy_ids = {i.escalation_policy_id for i in incidents if i.escalation_policy_id}
    if ctx.wants("services"):
        policy_ids |= {f["escalation_policy_id"] for f in ctx.services.values() if f["escalation_policy_id"]}
    if policy_ids:
        labels = await policy_labels(session, policy_ids)
        ctx.policy_names.update(labels.names)
        ctx.policy_teams.update(labels.team_ids)
        ctx.team_names.update(labels.team_names)
    priority_ids = {i.priority_id for i in incidents if i.priority_id}
    if priority_ids:
        rows = await session.execute(select(Priority).where(Priority.id.in_(list(priority_ids))))
        ctx.priorities.update({p.id: p for p in rows.scalars()})
    if not ids:
        return
    await _first_triggers(session, ctx, ids)
    if open_ids := [i.id for i in incidents if i.status != "resolved"]:
        # The engine's timers are the incidents' pending_actions (one statement for the page).
        timers = await session.execute(select(IncidentTimer.incident_id, IncidentTimer.kind, IncidentTimer.due_at)
                                       .where(IncidentTimer.incident_id.in_(open_ids)))
        for incident_id, kind, due_at in timers:
            ctx.timers.setdefault(incident_id, []).append((kind, due_at))
    counts = await session.execute(
        select(
            Alert.incident_id,
            func.count(),
            func.sum(case((Alert.status == "resolved", 1), else_=0)),
        ).where(Alert.incident_id.in_(ids)).group_by(Alert.incident_id)
    )
    for incident_id, total, resolved in counts:
        resolved = int(resolved or 0)
        ctx.alert_counts[incident_id] = {"all": total, "triggered": total - resolved, "resolved": resolved}


async def fill_log_context(session: AsyncSession, ctx: Context, entries: list[LogEntry]) -> dict[str, Incident]:
    """Load what rendering log entries needs (their incidents, service and user names) in three
    bulk reads, whatever the number of entries; returns the incidents by id. Lighter than
    ``fill_context``: a log entry shows only a reference to its incident."""
    incidents: dict[str, Incident] = {}
    if incident_ids := {e.incident_id for e in entries}:
        rows = await session.execute(select(Incident).where(Incident.id.in_(list(incident_ids))))
        incidents = {i.id: i for i in rows.scalars()}
    agents = [e.agent for e in entries]
    service_ids = {e.service_id for e in entries} | {a["id"] for a in agents if a and a["type"] == "service_reference"}
    if ctx.wants("services"):  # include[]=services shows each service in full
        await _load_services(session, ctx, service_ids)
    else:
        ctx.service_names.update(await service_names(session, service_ids))
    ctx.users.update(await user_refs(session, {a["id"] for a in agents if a and a["type"] == "user_reference"}))
    return incidents


async def _first_triggers(session: AsyncSession, ctx: Context, ids: list[str]) -> None:
    ranked = (
        select(
            LogEntry.incident_id,
            LogEntry.id,
            func.row_number()
            .over(partition_by=LogEntry.incident_id, order_by=(LogEntry.created_at, LogEntry.id))
            .label("n"),
        ).where(LogEntry.incident_id.in_(ids), LogEntry.type == "trigger_log_entry")
    ).subquery()
    firsts = await session.execute(select(ranked.c.incident_id, ranked.c.id).where(ranked.c.n == 1))
    ctx.first_trigger.update(firsts.all())
    if ctx.wants("first_trigger_log_entries") and ctx.first_trigger:
        rows = await session.execute(select(LogEntry).where(LogEntry.id.in_(list(ctx.first_trigger.values()))))
        entries = list(rows.scalars())
        ctx.first_trigger_entries.update({e.incident_id: e for e in entries})
        ctx.users.update(await user_refs(session, {
            e.agent["id"] for e in entries if e.agent and e.agent["type"] == "user_reference"}))


# --- the web UI's reads (tocsin.ui): the incident list and one incident's page ----------------

OPEN_STATUSES = ("triggered", "acknowledged")


@dataclass(frozen=True)
class IncidentFilter:
    """What the incident list shows: statuses, services, urgencies, incidents assigned to one
    user, incidents of some escalation policies (a team's). Empty means no restriction, except
    ``statuses`` (the open ones by default) and ``policy_ids`` (None: any policy; empty: none)."""

    statuses: tuple[str, ...] = OPEN_STATUSES
    service_ids: tuple[str, ...] = ()
    urgencies: tuple[str, ...] = ()
    assigned_to: str | None = None
    policy_ids: frozenset[str] | None = None
    ids: tuple[str, ...] = ()  # only these incidents (a selection)

    def conditions(self, *, with_status: bool = True) -> list[Any]:
        where: list[Any] = []
        if self.ids:
            where.append(Incident.id.in_(self.ids))
        if with_status and self.statuses:
            where.append(Incident.status.in_(self.statuses))
        if self.service_ids:
            where.append(Incident.service_id.in_(self.service_ids))
        if self.urgencies:
            where.append(Incident.urgency.in_(self.urgencies))
        if self.assigned_to is not None:
            # EXISTS, not IN: probing the (incident_id, user_id) key per row lets a page stop after
            # its rows; SQLite builds an IN list of every assignment of the user first.
            where.append(select(IncidentAssignment.incident_id).where(
                IncidentAssignment.incident_id == Incident.id, IncidentAssignment.user_id == self.assigned_to,
            ).exists())
        if self.policy_ids is not None:
            where.append(Incident.escalation_policy_id.in_(sorted(self.policy_ids)))
        return where


SHALLOW = 500  # offset + limit up to which a multi-status list reads each status's newest rows


def newest_per_status(statuses: set[str], where: list[Any], order: tuple[Any, ...], n: int) -> Any:
    """The ids of the first ``n`` rows in ``order`` of each status: a superset of the page's rows.

    ``status IN (a, b)`` sorted by ``created_at`` cannot be read in order from one index, so a
    database without statistics (SQLite) sorts every match (35 ms for 30k open incidents); each
    status alone walks ``ix_incidents_status_created_at`` in order and stops after ``n`` rows.
    Only for the first pages (``SHALLOW``): deep in the list the branches grow and the merge of
    their ids costs more than the sort it saves."""
    branches = [
        select(Incident.id).where(*where, Incident.status == status).order_by(*order).limit(n).subquery()
        for status in sorted(statuses)
    ]
    return union_all(*(select(branch.c.id) for branch in branches))


async def incident_list(session: AsyncSession, f: IncidentFilter, limit: int, offset: int = 0,
                        ) -> tuple[list[Incident], bool]:
    """The newest incidents matching ``f`` from ``offset`` on (``limit`` of them) and whether
    there are more."""
    where, order = f.conditions(), (Incident.created_at.desc(), Incident.number.desc())
    if len(set(f.statuses)) > 1 and offset + limit <= SHALLOW:
        # Only the ids: with the filters repeated here SQLite would scan every match again.
        newest = newest_per_status(set(f.statuses), where, order, offset + limit + 1)
        query = select(Incident).where(Incident.id.in_(newest)).order_by(*order).offset(offset).limit(limit + 1)
    else:
        # The page's ids first, then its rows: sorting every match's whole row (JSON columns and
        # all) to skip ``offset`` of them took SQLite three times as long.
        page_ids = select(Incident.id).where(*where).order_by(*order).offset(offset).limit(limit + 1)
        query = select(Incident).where(Incident.id.in_(page_ids)).order_by(*order)
    rows = await session.execute(query)
    found = list(rows.scalars())
    return found[:limit], len(found) > limit


async def fill_list_context(session: AsyncSession, ctx: Context, incidents: list[Incident]) -> None:
    """What a web UI list of incidents shows besides the rows: service and assignee names (two
    reads; ``fill_context`` loads all a REST answer may include)."""
    ctx.service_names.update(await service_names(session, {i.service_id for i in incidents}))
    ctx.users.update(await user_refs(session, {a["assignee"]["id"] for i in incidents for a in i.assignments}))


async def status_counts(session: AsyncSession, f: IncidentFilter) -> dict[str, int]:
    """How many incidents of each open status match ``f`` (its statuses aside)."""
    rows = await session.execute(select(Incident.status, func.count()).where(
        *f.conditions(with_status=False), Incident.status.in_(OPEN_STATUSES)).group_by(Incident.status))
    counts = dict.fromkeys(OPEN_STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


async def incident_log(session: AsyncSession, incident_id: str, limit: int = 500) -> list[LogEntry]:
    """An incident's log entries, oldest first (the newest ``limit``)."""
    rows = await session.execute(select(LogEntry).where(LogEntry.incident_id == incident_id)
                                 .order_by(LogEntry.created_at.desc(), LogEntry.id.desc()).limit(limit))
    return list(reversed(list(rows.scalars())))


async def incident_notes(session: AsyncSession, incident_id: str) -> list[IncidentNote]:
    rows = await session.execute(select(IncidentNote).where(IncidentNote.incident_id == incident_id)
                                 .order_by(IncidentNote.created_at, IncidentNote.id))
    return list(rows.scalars())


async def incident_alerts(session: AsyncSession, incident_id: str, limit: int = 100) -> list[Alert]:
    rows = await session.execute(select(Alert).where(Alert.incident_id == incident_id)
                                 .order_by(Alert.created_at.desc(), Alert.id).limit(limit))
    return list(rows.scalars())
