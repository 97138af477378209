"""Bulk loads that rendering incidents needs, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.models import User
from tocsin.errors import NotFound
from tocsin.incidents.models import Alert, Incident, LogEntry
from tocsin.incidents.wire import Context
from tocsin.services.queries import service_names


async def get_incident(session: AsyncSession, incident_id: str, *, for_update: bool = False) -> Incident:
    """``for_update`` locks the row (PostgreSQL) so a concurrent change cannot be overwritten."""
    incident = await session.get(Incident, incident_id, with_for_update=for_update or None)
    if incident is None:
        raise NotFound(f"Incident {incident_id} not found", errors=["Incident not found"])
    return incident


async def fill_context(session: AsyncSession, ctx: Context, incidents: list[Incident], agents: list[dict | None] = ()) -> None:  # type: ignore[assignment,type-arg]
    ids = [i.id for i in incidents]
    ctx.service_names.update(await service_names(session, {i.service_id for i in incidents}))
    user_ids = {a["id"] for a in agents if a and a["type"] == "user_reference"}
    for incident in incidents:
        for agent in [incident.last_status_change_by, *(a["acknowledger"] for a in incident.acknowledgements)]:
            if agent and agent["type"] == "user_reference":
                user_ids.add(agent["id"])
    if user_ids:
        rows = await session.execute(select(User.id, User.name).where(User.id.in_(list(user_ids))))
        ctx.user_names.update({uid: name for uid, name in rows})
    if not ids:
        return
    ranked = (
        select(
            LogEntry.incident_id,
            LogEntry.id,
            func.row_number().over(partition_by=LogEntry.incident_id, order_by=(LogEntry.created_at, LogEntry.id)).label("n"),
        ).where(LogEntry.incident_id.in_(ids), LogEntry.type == "trigger_log_entry")
    ).subquery()
    firsts = await session.execute(select(ranked.c.incident_id, ranked.c.id).where(ranked.c.n == 1))
    ctx.first_trigger.update({incident_id: entry_id for incident_id, entry_id in firsts})
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
