"""Service and integration changes, in the caller's transaction, each with its audit record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.errors import AccessDenied, InvalidInput, NotFound
from tocsin.escalation.queries import existing_policy_ids
from tocsin.http.wiring import Wiring
from tocsin.ids import new_id, new_integration_key
from tocsin.services.audit import integration_snapshot, service_snapshot
from tocsin.services.models import Integration, Service
from tocsin.services.queries import ServiceChange, service_changes
from tocsin.services.schemas import IntegrationCreate, IntegrationFields, ServiceCreate, ServiceFields
from tocsin.services.urgency import DEFAULT_RULE

DEFAULT_AUTO_RESOLVE = 14400  # seconds; None or 0 disables
DEFAULT_ACK_TIMEOUT = 1800
INTEGRATION_NAMES = {  # the name an integration gets when none is sent
    "events_api_v2_inbound_integration": "Events API V2",
    "generic_events_api_inbound_integration": "Events API V1",
    "generic_email_inbound_integration": "Email",
}


def _changed(session: AsyncSession, action: str, service: Service, actor: Actor, at: datetime) -> None:
    """Note the change for whoever acts on it before commit (the webhooks outbox)."""
    service_changes(session).append(ServiceChange(action, service.id, at, {"id": actor.id, "type": actor.type}))


KEY_CHOOSING_ROLES = frozenset({"admin", "owner"})


@dataclass(frozen=True)
class Creator:
    """Who creates an integration, as far as choosing its key goes: the credential's kind
    (``system`` for ``tocsin init`` and other server-side callers) and, for user keys, the role."""

    kind: str  # "account" | "user" | "oauth" | "system"
    role: str | None = None


SYSTEM_CREATOR = Creator("system")


def _may_choose_key(creator: Creator) -> bool:
    """A chosen integration key is account configuration: account keys and the server itself, or
    a user key of an admin or owner. OAuth apps always get a generated key."""
    if creator.kind in ("account", "system"):
        return True
    return creator.kind == "user" and creator.role in KEY_CHOOSING_ROLES


async def _check_chosen_key(session: AsyncSession, key: str, creator: Creator) -> None:
    if not _may_choose_key(creator):
        raise AccessDenied(errors=[("integration.integration_key: only an admin or owner (or an account key) may "
                                   "choose an integration key; leave it out to get a generated one")])
    taken = (await session.execute(select(Integration.id).where(Integration.integration_key == key))).first()
    if taken is not None:  # deleted integrations keep theirs: a key is never reused
        raise InvalidInput(errors=[("integration.integration_key: this key is already in use (or was, by a deleted "
                                   "integration)")])


async def get_service(session: AsyncSession, service_id: str) -> Service:
    service = await session.get(Service, service_id)
    if service is None or service.deleted_at is not None:
        raise NotFound(f"Service {service_id} not found", errors=["Service not found"])
    return service


async def integrations_of(session: AsyncSession, service_ids: list[str]) -> dict[str, list[Integration]]:
    found: dict[str, list[Integration]] = {sid: [] for sid in service_ids}
    rows = await session.execute(
        select(Integration)
        .where(Integration.service_id.in_(service_ids), Integration.deleted_at.is_(None))
        .order_by(Integration.created_at)
    )
    for integration in rows.scalars():
        found[integration.service_id].append(integration)
    return found


async def _check_policy(session: AsyncSession, fields: ServiceFields, required: bool) -> None:
    """A service pages through its escalation policy: required on create (as PagerDuty does),
    and whenever sent it must name a live policy."""
    if "escalation_policy" not in fields.model_fields_set or fields.escalation_policy is None:
        if required:
            raise InvalidInput(errors=["service.escalation_policy: is required (an escalation_policy_reference)"])
        return
    policy_id = fields.escalation_policy.id
    if not await existing_policy_ids(session, [policy_id]):
        raise InvalidInput(errors=[f"service.escalation_policy.id: escalation policy {policy_id} not found"])


def _apply(service: Service, fields: ServiceFields) -> None:
    data = fields.model_dump(exclude_unset=True, mode="json")
    for name in ("name", "description", "status", "auto_resolve_timeout", "acknowledgement_timeout",
                 "incident_urgency_rule", "support_hours", "scheduled_actions"):
        if name in data:
            setattr(service, name, data[name])
    if "escalation_policy" in data:
        service.escalation_policy_id = (data["escalation_policy"] or {}).get("id")


def _check_scheduled_actions(service: Service) -> None:
    """Scheduled actions act on support hours: PagerDuty accepts them only with an urgency rule
    that uses support hours (and the support hours themselves)."""
    if not service.scheduled_actions:
        return
    rule_type = (service.incident_urgency_rule or {}).get("type")
    if rule_type != "use_support_hours" or not service.support_hours:
        raise InvalidInput(errors=[
            "service.scheduled_actions: need an incident_urgency_rule of type use_support_hours and support_hours"])


async def create_service(session: AsyncSession, fields: ServiceCreate, actor: Actor, now: datetime) -> Service:
    await _check_policy(session, fields, required=True)
    service = Service(
        id=new_id(), name=fields.name, status="active", incident_urgency_rule=dict(DEFAULT_RULE),
        auto_resolve_timeout=DEFAULT_AUTO_RESOLVE, acknowledgement_timeout=DEFAULT_ACK_TIMEOUT,
        scheduled_actions=[], created_at=now, updated_at=now,
    )
    _apply(service, fields)
    _check_scheduled_actions(service)
    session.add(service)
    await session.flush()
    record(session, actor, action="create", resource_type="service", resource_id=service.id,
           summary=service.name, after=service_snapshot(service), at=now)
    _changed(session, "created", service, actor, now)
    return service


async def update_service(
    session: AsyncSession, service_id: str, fields: ServiceFields, actor: Actor, now: datetime,
) -> Service:
    service = await get_service(session, service_id)
    before = service_snapshot(service)
    await _check_policy(session, fields, required=False)
    _apply(service, fields)
    _check_scheduled_actions(service)
    service.updated_at = now
    await session.flush()
    if record(session, actor, action="update", resource_type="service", resource_id=service.id,
              summary=service.name, before=before, after=service_snapshot(service), at=now) is not None:
        _changed(session, "updated", service, actor, now)
    return service


async def delete_service(session: AsyncSession, service_id: str, actor: Actor, now: datetime,
                         wiring: Wiring) -> list[str]:
    """Soft delete (incidents keep their service); returns the routing keys that stop working. The
    outbound destinations tied to the service go with it (``wiring.service_deleted``)."""
    service = await get_service(session, service_id)
    before = service_snapshot(service)
    service.deleted_at = now
    integrations = (await integrations_of(session, [service_id]))[service_id]
    for integration in integrations:
        integration.deleted_at = now
    await session.flush()
    record(session, actor, action="delete", resource_type="service", resource_id=service_id,
           summary=service.name, before=before, at=now)
    _changed(session, "deleted", service, actor, now)
    await wiring.service_deleted(session, service_id, actor, now)
    return [i.integration_key for i in integrations]


async def get_integration(session: AsyncSession, service_id: str, integration_id: str) -> Integration:
    integration = await session.get(Integration, integration_id)
    if integration is None or integration.deleted_at is not None or integration.service_id != service_id:
        raise NotFound(f"Integration {integration_id} not found", errors=["Integration not found"])
    return integration


def _root(service: Service) -> tuple[str, str, str]:
    """An integration's audit records are filed under its service."""
    return "service", service.id, service.name


async def create_integration(
    session: AsyncSession, service_id: str, fields: IntegrationCreate, actor: Actor, now: datetime,
    creator: Creator,
) -> Integration:
    """``fields.integration_key`` (a Tocsin extension) keeps a key from elsewhere; only an admin may
    choose one (``creator``), and a key is never reused. The audit record says the key was chosen,
    never the key itself."""
    service = await get_service(session, service_id)
    chosen = fields.integration_key
    if chosen is not None:
        await _check_chosen_key(session, chosen, creator)
    integration = Integration(
        id=new_id(), service_id=service_id, type=fields.type,
        name=fields.name or INTEGRATION_NAMES.get(fields.type, fields.type),
        integration_key=chosen or new_integration_key(), created_at=now,
    )
    session.add(integration)
    await session.flush()
    after = integration_snapshot(integration)
    if chosen is not None:
        after["integration_key_chosen"] = True
    record(session, actor, action="create", resource_type="integration", resource_id=integration.id,
           summary=integration.name, after=after, root=_root(service), at=now)
    return integration


async def update_integration(
    session: AsyncSession, service_id: str, integration_id: str, fields: IntegrationFields, actor: Actor,
    now: datetime,
) -> Integration:
    service = await get_service(session, service_id)
    integration = await get_integration(session, service_id, integration_id)
    before = integration_snapshot(integration)
    data: dict[str, Any] = fields.model_dump(exclude_unset=True)
    if data.get("name"):
        integration.name = data["name"]
    await session.flush()
    record(session, actor, action="update", resource_type="integration", resource_id=integration.id,
           summary=integration.name, before=before, after=integration_snapshot(integration),
           root=_root(service), at=now)
    return integration


async def delete_integration(
    session: AsyncSession, service_id: str, integration_id: str, actor: Actor, now: datetime,
) -> str:
    """Returns the routing key that stops working."""
    service = await get_service(session, service_id)
    integration = await get_integration(session, service_id, integration_id)
    before = integration_snapshot(integration)
    integration.deleted_at = now
    await session.flush()
    record(session, actor, action="delete", resource_type="integration", resource_id=integration_id,
           summary=integration.name, before=before, root=_root(service), at=now)
    return integration.integration_key
