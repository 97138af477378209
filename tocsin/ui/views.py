"""What the incident pages show, read through the domains' own queries (never SQL of the UI's
own): the incident list with its filters and counts, and one incident with its timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.escalation.queries import level_count, live_policy_names, policy_ids_for_teams
from tocsin.incidents.models import Alert, Incident, IncidentNote, LogEntry
from tocsin.incidents.queries import (
    OPEN_STATUSES,
    IncidentFilter,
    fill_context,
    fill_list_context,
    get_incident,
    incident_alerts,
    incident_list,
    incident_log,
    incident_notes,
    priority_choices,
    status_counts,
)
from tocsin.incidents.render_context import Context
from tocsin.services.queries import live_service_names
from tocsin.teams.queries import team_ids_of_users
from tocsin.users.queries import live_user_names, user_refs

STATUSES = ("triggered", "acknowledged", "resolved")
URGENCIES = ("high", "low")
# Rows per page, as PagerDuty's incidents page shows by default: the page stays quick to render
# and to read however many incidents are open (older ones are a page further).
PAGE_SIZE = 25
MAX_PAGE = 1000


@dataclass(frozen=True)
class Filters:
    """The list's GET parameters, validated (unknown values are dropped, never an error)."""

    mine: bool = False
    teams: bool = False
    service: str = ""
    status: str = ""  # "" = open (triggered and acknowledged)
    urgency: str = ""
    page: int = 1

    @classmethod
    def parse(cls, params: Any) -> Filters:
        status = params.get("status", "")
        urgency = params.get("urgency", "")
        page = params.get("page", "")
        return cls(mine=params.get("mine") == "1", teams=params.get("teams") == "1",
                   service=params.get("service", "")[:16], status=status if status in STATUSES else "",
                   urgency=urgency if urgency in URGENCIES else "",
                   page=min(int(page), MAX_PAGE) if page.isdigit() and 0 < len(page) < 6 and int(page) else 1)

    def query(self, page: int | None = None) -> dict[str, str]:
        """The GET parameters (the current page's, or ``page``'s)."""
        page = self.page if page is None else page
        found = {"mine": "1" if self.mine else "", "teams": "1" if self.teams else "", "service": self.service,
                 "status": self.status, "urgency": self.urgency, "page": str(page) if page > 1 else ""}
        return {k: v for k, v in found.items() if v}


@dataclass
class ListView:
    incidents: list[Incident]
    more: bool
    counts: dict[str, int]
    ctx: Context
    services: list[tuple[str, str]]
    no_team: bool = False  # "my teams" asked by someone in no team
    first: int = 1  # the page's first row's position in the whole list
    total: int | None = None  # how many match, when the counts tell (not for resolved ones)


async def incident_list_view(session: AsyncSession, f: Filters, user_id: str, base: str, now: datetime) -> ListView:
    """One page of the list: its rows (newest first) with the names they show, the counts per
    open status (one aggregate statement), and the services to filter by."""
    policy_ids = None
    no_team = False
    if f.teams:
        teams = (await team_ids_of_users(session, [user_id])).get(user_id, [])
        no_team = not teams
        policy_ids = frozenset(await policy_ids_for_teams(session, teams)) if teams else frozenset()
    query = IncidentFilter(
        statuses=(f.status,) if f.status else OPEN_STATUSES, service_ids=(f.service,) if f.service else (),
        urgencies=(f.urgency,) if f.urgency else (), assigned_to=user_id if f.mine else None, policy_ids=policy_ids)
    offset = (f.page - 1) * PAGE_SIZE
    incidents, more = await incident_list(session, query, PAGE_SIZE, offset)
    ctx = Context(base, now=now)
    await fill_list_context(session, ctx, incidents)
    counts = await status_counts(session, query)
    total = counts.get(f.status) if f.status else sum(counts.values())
    return ListView(incidents, more, counts, ctx, await live_service_names(session), no_team, offset + 1, total)


@dataclass
class MergeChoices:
    incidents: list[Incident]  # the open ones among a selection, oldest first
    ctx: Context


async def merge_choices_view(session: AsyncSession, ids: list[str], base: str, now: datetime) -> MergeChoices:
    """The selected incidents that can still be merged (open), for choosing which keeps the rest."""
    found, _ = await incident_list(session, IncidentFilter(ids=tuple(ids)), len(ids)) if ids else ([], False)
    found.sort(key=lambda i: i.number)
    ctx = Context(base, now=now)
    await fill_list_context(session, ctx, found)
    return MergeChoices(found, ctx)


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # a log entry's type, or "note"
    text: str
    who: str | None = None
    channel: str | None = None  # how it came (api, website, auto, email ...)
    notification: dict[str, Any] | None = None  # a notify_log_entry's channel and outcome


@dataclass
class DetailView:
    incident: Incident
    ctx: Context
    levels: int
    timeline: list[TimelineItem]
    alerts: list[Alert]
    # What the action forms offer (read only for someone who may write): (id, name) each.
    users: list[tuple[str, str]] = field(default_factory=list)
    policies: list[tuple[str, str]] = field(default_factory=list)
    priorities: list[tuple[str, str]] = field(default_factory=list)

    @property
    def pending(self) -> list[tuple[str, datetime]]:
        if self.incident.status == "resolved":
            return []
        return sorted(self.ctx.timers.get(self.incident.id, []), key=lambda t: (t[1], t[0]))

    @property
    def next_escalation(self) -> datetime | None:
        return next((due for kind, due in self.pending if kind == "escalate"), None)


def _timeline(entries: list[LogEntry], notes: list[IncidentNote], names: dict[str, str]) -> list[TimelineItem]:
    """Log entries and notes, oldest first. A note's own row is shown (it names its author and
    includes a resolution note, which has no log entry) instead of its ``annotate_log_entry``."""
    items = []
    for entry in entries:
        if entry.type == "annotate_log_entry":
            continue
        agent = entry.agent or {}
        who = names.get(agent.get("id", "")) if agent.get("type") == "user_reference" else None
        channel = entry.channel or {}
        items.append(TimelineItem(entry.created_at, entry.type, entry.summary, who, channel.get("type"),
                                  channel.get("notification")))
    items += [TimelineItem(n.created_at, "note", n.content, names.get(n.user_id, n.user_id)) for n in notes]
    return sorted(items, key=lambda i: i.at)


async def incident_detail_view(session: AsyncSession, incident_id: str, base: str, now: datetime,
                               with_choices: bool) -> DetailView:
    incident = await get_incident(session, incident_id)
    ctx = Context(base, now=now)
    entries = await incident_log(session, incident_id)
    notes = await incident_notes(session, incident_id)
    agents = [e.agent for e in entries]
    await fill_context(session, ctx, [incident], agents=agents, user_ids={n.user_id for n in notes})
    names = ctx.user_names
    if missing := {n.user_id for n in notes} - set(names):
        names |= {u: f.name for u, f in (await user_refs(session, missing)).items()}
    levels = await level_count(session, incident.escalation_policy_id) if incident.escalation_policy_id else 0
    alerts = await incident_alerts(session, incident_id)
    view = DetailView(incident, ctx, levels, _timeline(entries, notes, names), alerts)
    if with_choices:
        view.users = await live_user_names(session)
        view.policies = await live_policy_names(session)
        view.priorities = await priority_choices(session)
    return view
