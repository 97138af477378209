"""Read helpers other domains may use (the services domain's public surface)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tocsin.db.base import table_of
from tocsin.db.id_lists import one_of
from tocsin.services.models import Integration, Service

SERVICE_CHANGES = "service_changes"  # session.info key


@dataclass(frozen=True, slots=True)
class ServiceChange:
    """A service was created, updated or deleted in this transaction (``action``: "created",
    "updated", "deleted"); ``agent`` who did it ({"id", "type"}, the audit actor's reference).
    The services logic notes each change here; the webhooks outbox reads them before commit
    (``service.created|updated|deleted``), as the engine reads incidents' transition records."""

    action: str
    service_id: str
    at: datetime
    agent: dict[str, Any] | None


def service_changes(session: AsyncSession | Session) -> list[ServiceChange]:
    """Every service change of this session's transaction so far, in order."""
    found: list[ServiceChange] = session.info.setdefault(SERVICE_CHANGES, [])
    return found


# Built once, on the tables (no ORM entities): the events processor runs it every batch, where
# building the statement and loading ORM rows cost more than running it.
_IN, _SV = table_of(Integration).c, table_of(Service).c
_INTEGRATION_TARGETS = (
    select(_IN.id, _IN.type, _SV.id, _SV.status, _SV.incident_urgency_rule, _SV.support_hours,
           _SV.escalation_policy_id)
    .join_from(table_of(Integration), table_of(Service), _SV.id == _IN.service_id)
    .where(one_of(_IN.id, name="ids"), _IN.deleted_at.is_(None), _SV.deleted_at.is_(None)))


def integration_targets(
    session: Session, integration_ids: set[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Live integrations by id -> (integration type, service facts incidents need). Sync: the
    event processor calls it inside its synchronous transaction."""
    if not integration_ids:
        return {}
    rows = session.connection().execute(_INTEGRATION_TARGETS, {"ids": list(integration_ids)})
    return {
        integration_id: (
            integration_type,
            {
                "id": service_id,
                "status": status,
                "incident_urgency_rule": urgency_rule,
                "support_hours": support_hours,
                "escalation_policy_id": policy_id,
            },
        )
        for integration_id, integration_type, service_id, status, urgency_rule, support_hours, policy_id in rows
    }


async def service_names(session: AsyncSession, service_ids: set[str]) -> dict[str, str]:
    """Names by id, deleted services included (old incidents still point at them)."""
    if not service_ids:
        return {}
    rows = await session.execute(select(Service.id, Service.name).where(Service.id.in_(list(service_ids))))
    return dict(rows.all())



async def services_using_policies(session: AsyncSession, policy_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Live services by escalation policy id: {policy id: [(service id, name)]}, by name.

    The escalation domain (a lower layer) cannot import this module; the composition root hands
    this function to it as ``Runtime.wiring.services_using_policies``.
    """
    found: dict[str, list[tuple[str, str]]] = {}
    if not policy_ids:
        return found
    rows = await session.execute(
        select(Service.escalation_policy_id, Service.id, Service.name)
        .where(Service.escalation_policy_id.in_(list(policy_ids)), Service.deleted_at.is_(None))
        .order_by(Service.name, Service.id)
    )
    for policy_id, service_id, name in rows:
        assert policy_id is not None  # selected by escalation_policy_id IN (...)
        found.setdefault(policy_id, []).append((service_id, name))
    return found


async def live_service_names(session: AsyncSession) -> list[tuple[str, str]]:
    """(id, name) of every service not deleted, by name (the web UI's service filter)."""
    rows = await session.execute(select(Service.id, Service.name).where(Service.deleted_at.is_(None))
                                 .order_by(Service.name, Service.id))
    return [(i, n) for i, n in rows]
