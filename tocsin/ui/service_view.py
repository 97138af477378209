"""What the service pages show, read through the services, escalation and incidents domains' own
queries: each service's status and open incidents, who its policy has on call now per level,
its integrations with their keys and the Events API URL, and its recent incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.escalation.queries import level_count, on_call_levels, policy_refs
from tocsin.events.ingest import V2_PATH
from tocsin.incidents.models import Incident
from tocsin.incidents.queries import OPEN_STATUSES, IncidentFilter, fill_context, incident_list, status_counts
from tocsin.incidents.render_context import Context
from tocsin.services.logic import get_service, integrations_of
from tocsin.services.models import Integration, Service
from tocsin.services.queries import live_service_names
from tocsin.users.queries import user_refs

OPEN_SHOWN = 50
RECENT_SHOWN = 10


@dataclass
class ServiceRow:
    service: Service
    counts: dict[str, int]
    on_call: list[str]  # level 1, by name


@dataclass
class ServiceDetail:
    service: Service
    counts: dict[str, int]
    policy_name: str | None
    levels: list[list[str]]  # who is on call at each level now, by name
    integrations: list[Integration]
    events_url: str
    open: list[Incident]
    open_more: bool
    recent: list[Incident]
    ctx: Context


async def _names(session: AsyncSession, ids: set[str]) -> dict[str, str]:
    return {u: f.name for u, f in (await user_refs(session, ids)).items()}


async def service_rows(session: AsyncSession, now: datetime) -> list[ServiceRow]:
    """Every live service, by name. Two reads per service (the service and its open counts): the
    domains offer no batch of either, and an account's services number in the tens."""
    services = [await get_service(session, sid) for sid, _ in await live_service_names(session)]
    policies = {s.escalation_policy_id for s in services if s.escalation_policy_id}
    first = await on_call_levels(session, policies, 1, now)
    names = await _names(session, {u for level in first.values() for u in level.users})
    rows = []
    for s in services:
        counts = await status_counts(session, IncidentFilter(statuses=OPEN_STATUSES, service_ids=(s.id,)))
        level = first.get(s.escalation_policy_id or "")
        rows.append(ServiceRow(s, counts, [names[u] for u in (level.users if level else ()) if u in names]))
    return rows


async def service_detail(session: AsyncSession, service_id: str, base: str, now: datetime) -> ServiceDetail:
    service = await get_service(session, service_id)
    integrations = (await integrations_of(session, [service.id])).get(service.id, [])
    policy_id = service.escalation_policy_id
    levels: list[list[str]] = []
    policy_name = None
    if policy_id:
        policy_name = (await policy_refs(session, [policy_id])).get(policy_id, policy_id)
        on_call = [(await on_call_levels(session, [policy_id], n, now))[policy_id]
                   for n in range(1, await level_count(session, policy_id) + 1)]
        names = await _names(session, {u for level in on_call for u in level.users})
        levels = [[names[u] for u in level.users if u in names] for level in on_call]
    open_filter = IncidentFilter(statuses=OPEN_STATUSES, service_ids=(service.id,))
    open_incidents, more = await incident_list(session, open_filter, OPEN_SHOWN)
    recent, _ = await incident_list(session, IncidentFilter(statuses=("resolved",), service_ids=(service.id,)),
                                    RECENT_SHOWN)
    ctx = Context(base, now=now)
    await fill_context(session, ctx, open_incidents + recent)
    return ServiceDetail(service, await status_counts(session, open_filter), policy_name, levels, integrations,
                         base + V2_PATH, open_incidents, more, recent, ctx)
