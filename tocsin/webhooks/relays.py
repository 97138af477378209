"""Forwarders and chat webhooks of a service (Tocsin extensions): changes and reads in the
caller's transaction, each change with its audit record, a switch-off announced to the admins as
for webhook subscriptions; and a forwarder's test.

Both are outbound destinations (``Destination``, kind ``forwarder`` or ``chat``) with their
settings in ``ServiceDestination``; the outbox queues their deliveries with the webhooks' (the v3
event body), and the delivery machinery sends them with the same retries and disabling; their
``Kind`` (``destinations``) makes the request. A forwarder's integration key is sealed like a
webhook secret and never shown again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.auth.models import User
from tocsin.errors import InvalidInput, NotFound
from tocsin.http.refs import reference
from tocsin.ids import new_id
from tocsin.services.models import Service
from tocsin.webhooks import notices, relay
from tocsin.webhooks.logic import Configured, deactivate_filtered_on, remove, resume, set_active, who
from tocsin.webhooks.models import CHAT, FORWARDER, Destination, ServiceDestination
from tocsin.webhooks.outbox import render
from tocsin.webhooks.payloads import INCIDENT, envelope
from tocsin.webhooks.queue import Event, Send, new_uuid, store
from tocsin.webhooks.schemas import ChatCreate, ChatFields, ForwarderCreate, ForwarderFields, RelayFields
from tocsin.webhooks.vault import vault

TABLES = {FORWARDER: relay.FORWARDED, CHAT: relay.CHATTED}
RESOURCES = {FORWARDER: "forwarder", CHAT: "chat_webhook"}
NOUNS = {FORWARDER: "forwarder", CHAT: "chat webhook"}
COLLECTIONS = {FORWARDER: "forwarders", CHAT: "chat_webhooks"}


@dataclass(frozen=True)
class Relay(Configured[ServiceDestination]):
    """A forwarder or chat webhook: its destination and its settings."""

    @property
    def kind(self) -> str:
        return self.destination.kind

    @property
    def label(self) -> str:
        return self.settings.description or notices.safe_url(self.destination.url)

    @property
    def actions(self) -> list[str]:
        return relay.actions_of(list(self.settings.events), TABLES[self.kind])

    @property
    def path(self) -> str:
        return f"/services/{self.settings.service_id}/{COLLECTIONS[self.kind]}/{self.id}"


def snapshot(found: Relay) -> dict[str, Any]:
    """What the audit trail records: never the integration key."""
    d, s = found.destination, found.settings
    return {"url": notices.safe_url(d.url), "active": d.active, "temporarily_disabled": d.temporarily_disabled,
            "description": s.description, "events": found.actions, "urgencies": s.urgencies,
            "service_id": s.service_id, "acting_user_id": s.acting_user_id}


async def _service(session: AsyncSession, service_id: str) -> None:
    found = await session.scalar(select(Service.id).where(Service.id == service_id, Service.deleted_at.is_(None)))
    if found is None:
        raise NotFound(f"Service {service_id} not found", errors=["Service not found"])


async def _acting_user(session: AsyncSession, user_id: str | None) -> str | None:
    if user_id is None:
        return None
    found = await session.scalar(select(User.id).where(User.id == user_id, User.deleted_at.is_(None)))
    if found is None:
        raise InvalidInput(errors=[f"chat_webhook.acting_user_id: user {user_id} not found"])
    return user_id


async def get(session: AsyncSession, kind: str, service_id: str, relay_id: str, *, lock: bool = False) -> Relay:
    query = (select(Destination, ServiceDestination).join(ServiceDestination, ServiceDestination.id == Destination.id)
             .where(Destination.id == relay_id, Destination.kind == kind, ServiceDestination.service_id == service_id))
    if lock:
        query = query.with_for_update(of=Destination)
    row = (await session.execute(query)).first()
    if row is None:
        noun = NOUNS[kind].capitalize()
        raise NotFound(f"{noun} {relay_id} not found", errors=[f"{noun} not found"])
    return Relay(row[0], row[1])


async def list_of(session: AsyncSession, kind: str, service_id: str) -> list[Relay]:
    await _service(session, service_id)
    rows = await session.execute(
        select(Destination, ServiceDestination).join(ServiceDestination, ServiceDestination.id == Destination.id)
        .where(Destination.kind == kind, ServiceDestination.service_id == service_id)
        .order_by(Destination.created_at, Destination.id))
    return [Relay(d, s) for d, s in rows.all()]


async def create(session: AsyncSession, kind: str, service_id: str, fields: ForwarderCreate | ChatCreate,
                 actor: Actor, now: datetime) -> Relay:
    await _service(session, service_id)
    routing_key = None
    if isinstance(fields, ForwarderCreate):
        sealer = await session.run_sync(lambda s: vault(s, now))
        routing_key = sealer.seal(fields.integration_key)
    destination = Destination(id=new_id(), kind=kind, url=fields.url, active=fields.active,
                              temporarily_disabled=False, judged_since=now, created_at=now, updated_at=now)
    settings = ServiceDestination(id=destination.id, service_id=service_id, description=fields.description,
                                  events=relay.v3_types(list(fields.events), TABLES[kind]),
                                  urgencies=list(fields.urgencies) if fields.urgencies else None,
                                  routing_key=routing_key,
                                  acting_user_id=await _acting_user(session, fields.acting_user_id)
                                  if isinstance(fields, ChatCreate) else None)
    session.add(destination)
    await session.flush()
    session.add(settings)
    await session.flush()
    made = Relay(destination, settings)
    record(session, actor, action="create", resource_type=RESOURCES[kind], resource_id=made.id, summary=made.label,
           after=snapshot(made), at=now)
    return made


async def update(session: AsyncSession, kind: str, service_id: str, relay_id: str,
                 fields: RelayFields | ForwarderFields | ChatFields, actor: Actor, now: datetime) -> Relay:
    found = await get(session, kind, service_id, relay_id, lock=True)
    before = snapshot(found)
    sent = fields.model_dump(exclude_unset=True)
    if "description" in sent:
        found.settings.description = fields.description
    if fields.url is not None:
        found.destination.url = fields.url
    if fields.events is not None:
        if kind == FORWARDER and "escalate" in fields.events:
            raise InvalidInput(errors=["forwarder.events: an Events API has no escalate action"])
        found.settings.events = relay.v3_types(list(fields.events), TABLES[kind])
    if isinstance(fields, ChatFields) and "acting_user_id" in sent:
        found.settings.acting_user_id = await _acting_user(session, fields.acting_user_id)
    if "urgencies" in sent:
        found.settings.urgencies = list(fields.urgencies) if fields.urgencies else None
    if isinstance(fields, ForwarderFields) and fields.integration_key is not None:
        sealer = await session.run_sync(lambda s: vault(s, now))
        found.settings.routing_key = sealer.seal(fields.integration_key)
    if fields.active is not None:
        await set_active(session, found.destination, fields.active, label=found.label,
                         why=f"turned off by {who(actor)}", now=now, noun=NOUNS[kind], path=found.path)
    found.destination.updated_at = now
    await session.flush()
    record(session, actor, action="update", resource_type=RESOURCES[kind], resource_id=found.id,
           summary=found.label, before=before, after=snapshot(found), at=now)
    return found


async def delete(session: AsyncSession, kind: str, service_id: str, relay_id: str, actor: Actor,
                 now: datetime) -> None:
    await _delete(session, await get(session, kind, service_id, relay_id, lock=True), f"deleted by {who(actor)}",
                  actor, now)


async def _delete(session: AsyncSession, found: Relay, why: str, actor: Actor, now: datetime) -> None:
    before, label, kind = snapshot(found), found.label, found.kind
    await remove(session, found, label=label, why=why, now=now, noun=NOUNS[kind], path=found.path)
    record(session, actor, action="delete", resource_type=RESOURCES[kind], resource_id=found.id, summary=label,
           before=before, at=now)


async def enable(session: AsyncSession, kind: str, service_id: str, relay_id: str, actor: Actor,
                 now: datetime) -> Relay:
    found = await get(session, kind, service_id, relay_id, lock=True)
    before = snapshot(found)
    if resume(found.destination, now):
        await session.flush()
        record(session, actor, action="update", resource_type=RESOURCES[kind], resource_id=found.id,
               summary=found.label, before=before, after=snapshot(found), at=now)
    return found


async def service_deleted(session: AsyncSession, service_id: str, actor: Actor, now: datetime) -> None:
    """A service was deleted (``http.wiring.ServiceDeleted``, called by ``services.logic`` in the
    deleting transaction): its forwarders and chat webhooks are deleted (queues dropped, admins
    told, each audited as a delete), and webhook subscriptions filtered on it are turned off
    (audited as an update; PagerDuty documents nothing for this case). So the outbox, which runs
    at commit, sends the ``service.deleted`` event to none of them."""
    name = await session.scalar(select(Service.name).where(Service.id == service_id)) or service_id
    why = f"its service {name} was deleted by {who(actor)}"
    rows = await session.execute(
        select(Destination, ServiceDestination).join(ServiceDestination, ServiceDestination.id == Destination.id)
        .where(ServiceDestination.service_id == service_id).order_by(Destination.created_at, Destination.id)
        .with_for_update(of=Destination))
    for destination, settings in rows.all():
        await _delete(session, Relay(destination, settings), why, actor, now)
    await deactivate_filtered_on(session, service_id, f"its filter's service {name} was deleted by {who(actor)}",
                                 actor, now)


async def test(session: AsyncSession, kind: str, service_id: str, relay_id: str, base_url: str,
               now: datetime) -> list[str]:
    """Queue a test incident's trigger and then its resolve (in that order, one stream) to this
    destination alone: the summary starts with ``[Test message]``, the dedup key is made for the
    test, so no real incident upstream is touched. The new deliveries' ids."""
    found = await get(session, kind, service_id, relay_id)
    if not found.destination.active:
        raise InvalidInput(errors=[f"{RESOURCES[kind]}: is not active (set active to true first)"])
    if found.destination.temporarily_disabled:
        raise InvalidInput(errors=[f"{RESOURCES[kind]}: is temporarily disabled (POST .../enable first)"])
    name = await session.scalar(select(Service.name).where(Service.id == service_id)) or service_id
    test_id = f"test-{new_uuid()}"
    data: dict[str, Any] = {"id": test_id, "type": "incident", "incident_key": test_id, "number": None,
            "title": f"{relay.TEST_PREFIX} Tocsin {NOUNS[kind]} test from service {name}",
            "service": reference(base_url, "service", service_id, name), "urgency": "high", "html_url": None,
            "assignees": []}
    events = []
    for event_type, status in (("incident.triggered", "triggered"), ("incident.resolved", "resolved")):
        event_id = new_uuid()
        events.append(Event(event_id, event_type, INCIDENT, test_id, now, render(envelope(
            event_id, event_type, INCIDENT, now, None, None, {**data, "status": status}))))
    sends = [Send(e, found.id, test_id) for e in events]
    return await session.run_sync(lambda s: store(s, events, sends, now))
