"""Webhook subscription changes and reads, in the caller's transaction, each change with its
audit record; switching one off (by hand, or deleting it) is announced to the admins.

Secrets: a subscription's signing secret is made here, sealed (``vault``) and returned once, in
the create's answer (and a rotation's, a Tocsin extension); custom header values are sealed too
and never shown again. Rotation keeps the previous secret signing for ``ROTATION_GRACE``, so a
receiver can take the new secret at its own pace (both ``v1=`` values are sent meanwhile).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tocsin.audit.recorder import Actor, record
from tocsin.db.base import table_of
from tocsin.errors import InvalidInput, NotFound
from tocsin.http.refs import iso
from tocsin.ids import new_id
from tocsin.services.models import Service
from tocsin.teams.models import Team
from tocsin.webhooks import notices
from tocsin.webhooks.event_types import PING
from tocsin.webhooks.models import (
    FINISHED,
    PENDING,
    WEBHOOK,
    Delivery,
    DeliveryAttempt,
    Destination,
    OutboundEvent,
    ServiceDestination,
    WebhookSubscription,
)
from tocsin.webhooks.outbox import render
from tocsin.webhooks.payloads import PAGEY, envelope, ping_data
from tocsin.webhooks.queue import Event, Send, new_uuid, requeue, store
from tocsin.webhooks.schemas import FilterIn, SubscriptionCreate, SubscriptionFields
from tocsin.webhooks.vault import Vault, new_secret, vault

RESOURCE = "webhook_subscription"
ROTATION_GRACE = timedelta(hours=24)


S = TypeVar("S", WebhookSubscription, ServiceDestination)


@dataclass(frozen=True)
class Configured(Generic[S]):
    """A destination (url, on/off) with the settings of its kind."""

    destination: Destination
    settings: S

    @property
    def id(self) -> str:
        return self.destination.id


@dataclass(frozen=True)
class Subscription(Configured[WebhookSubscription]):
    """A webhook subscription: its destination and its webhook settings."""

    @property
    def label(self) -> str:
        return self.settings.description or self.destination.url


def snapshot(sub: Subscription) -> dict[str, Any]:
    """What the audit trail records: never a secret or a header value."""
    d, s = sub.destination, sub.settings
    return {"url": d.url, "active": d.active, "temporarily_disabled": d.temporarily_disabled,
            "description": s.description, "events": list(s.events),
            "filter": {"type": s.filter_type, "id": s.filter_id},
            "custom_headers": [h["name"] for h in s.custom_headers],
            "secret_rotated_at": iso(s.secret_rotated_at)}


async def _vault(session: AsyncSession, now: datetime) -> Vault:
    return await session.run_sync(lambda s: vault(s, now))


async def get_subscription(session: AsyncSession, subscription_id: str, *, lock: bool = False) -> Subscription:
    query = (select(Destination, WebhookSubscription)
             .join(WebhookSubscription, WebhookSubscription.id == Destination.id)
             .where(Destination.id == subscription_id, Destination.kind == WEBHOOK))
    if lock:
        query = query.with_for_update(of=Destination)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"Webhook subscription {subscription_id} not found", errors=["Webhook subscription not found"])
    return Subscription(row[0], row[1])


def list_query(filter_type: str | None, filter_id: str | None) -> Any:
    """PagerDuty's ``filter_type`` (account | service | team) and ``filter_id``, oldest first."""
    where: list[ColumnElement[bool]] = [Destination.kind == WEBHOOK]
    if filter_type is not None:
        if filter_type not in ("account", "service", "team"):
            raise InvalidInput(errors=["filter_type must be one of account, service, team"])
        if filter_type != "account" and not filter_id:
            raise InvalidInput(errors=[f"filter_id is required with filter_type {filter_type}"])
        where.append(WebhookSubscription.filter_type == f"{filter_type}_reference")
        if filter_type != "account":
            where.append(WebhookSubscription.filter_id == filter_id)
    return (select(Destination, WebhookSubscription).join(WebhookSubscription, WebhookSubscription.id == Destination.id)
            .where(*where).order_by(Destination.created_at, Destination.id))


async def _filter_problem(session: AsyncSession, filter_type: str, filter_id: str | None) -> str | None:
    """What is wrong with a filter: the service or team it names does not exist (or was deleted)."""
    if filter_type == "service_reference":
        found = await session.scalar(select(Service.id).where(Service.id == filter_id, Service.deleted_at.is_(None)))
        return None if found is not None else f"service {filter_id} not found"
    if filter_type == "team_reference":
        found = await session.scalar(select(Team.id).where(Team.id == filter_id, Team.deleted_at.is_(None)))
        return None if found is not None else f"team {filter_id} not found"
    return None


async def _check_filter(session: AsyncSession, chosen: FilterIn) -> None:
    problem = await _filter_problem(session, chosen.type, chosen.id)
    if problem:
        raise InvalidInput(errors=[f"webhook_subscription.filter.id: {problem}"])


async def _check_live_filter(session: AsyncSession, settings: WebhookSubscription) -> None:
    """A subscription is turned on only while its filter names something live: deleting its
    service switched it off (``deactivate_filtered_on``), and it stays off until given another."""
    problem = await _filter_problem(session, settings.filter_type, settings.filter_id)
    if problem:
        raise InvalidInput(errors=[(f"webhook_subscription.active: its filter's {problem} (deleted?); "
                                    "give it another filter to turn it on")])


async def create_subscription(session: AsyncSession, fields: SubscriptionCreate, actor: Actor,
                              now: datetime) -> tuple[Subscription, str]:
    """The new subscription and its signing secret (shown this once)."""
    await _check_filter(session, fields.filter)
    sealer = await _vault(session, now)
    secret = new_secret()
    destination = Destination(id=new_id(), kind=WEBHOOK, url=fields.delivery_method.url, active=fields.active,
                              temporarily_disabled=False, judged_since=now, created_at=now, updated_at=now)
    settings = WebhookSubscription(
        id=destination.id, delivery_method_id=new_id(), description=fields.description, events=list(fields.events),
        filter_type=fields.filter.type, filter_id=fields.filter.id,
        custom_headers=[{"name": h.name, "value": sealer.seal(h.value)} for h in fields.delivery_method.custom_headers],
        secret=sealer.seal(secret))
    session.add(destination)
    await session.flush()
    session.add(settings)
    await session.flush()
    sub = Subscription(destination, settings)
    record(session, actor, action="create", resource_type=RESOURCE, resource_id=sub.id, summary=sub.label,
           after=snapshot(sub), at=now)
    return sub, secret


def who(actor: Actor) -> str:
    return f"{actor.summary or actor.id} ({actor.type.removesuffix('_reference').replace('_', ' ')})"


async def update_subscription(session: AsyncSession, subscription_id: str, fields: SubscriptionFields,
                              actor: Actor, now: datetime) -> Subscription:
    sub = await get_subscription(session, subscription_id, lock=True)
    before = snapshot(sub)
    data = fields.model_dump(exclude_unset=True)
    if "description" in data:
        sub.settings.description = fields.description
    if fields.events is not None:
        sub.settings.events = list(fields.events)
    if fields.filter is not None:
        await _check_filter(session, fields.filter)
        sub.settings.filter_type, sub.settings.filter_id = fields.filter.type, fields.filter.id
    if fields.active and not sub.destination.active:
        await _check_live_filter(session, sub.settings)
    if fields.active is not None:
        await set_active(session, sub.destination, fields.active, label=sub.label, why=f"turned off by {who(actor)}",
                         now=now)
    sub.destination.updated_at = now
    await session.flush()
    record(session, actor, action="update", resource_type=RESOURCE, resource_id=sub.id, summary=sub.label,
           before=before, after=snapshot(sub), at=now)
    return sub


def remove_destination(session: Session, destination_id: str) -> None:
    """Delete a destination's attempts, deliveries, the events no other destination still has, its
    settings and the destination itself."""
    d, a, e = table_of(Delivery), table_of(DeliveryAttempt), table_of(OutboundEvent)
    mine = select(d.c.seq).where(d.c.destination_id == destination_id)
    event_ids = list(session.scalars(select(d.c.event_id).where(d.c.destination_id == destination_id).distinct()))
    session.execute(delete(a).where(a.c.delivery_seq.in_(mine)))
    session.execute(delete(d).where(d.c.destination_id == destination_id))
    for start in range(0, len(event_ids), 500):
        chunk = event_ids[start:start + 500]
        session.execute(delete(e).where(e.c.id.in_(chunk), ~exists().where(d.c.event_id == e.c.id)))
    session.execute(delete(table_of(WebhookSubscription)).where(table_of(WebhookSubscription).c.id == destination_id))
    session.execute(delete(table_of(ServiceDestination)).where(table_of(ServiceDestination).c.id == destination_id))
    session.execute(delete(table_of(Destination)).where(table_of(Destination).c.id == destination_id))


async def set_active(session: AsyncSession, destination: Destination, active: bool, *, label: str, why: str,
                     now: datetime, noun: str = "webhook subscription", path: str | None = None) -> None:
    """Turn a destination on (the failure-rate rule starts afresh: failures from before do not
    count) or off (its queue is dropped, each delivery saying ``why``, and the admins are told)."""
    if active == destination.active:
        return
    destination.active = active
    if active:
        destination.judged_since = now
        return
    await session.run_sync(lambda s: notices.switch_off(
        s, what="deactivated", destination_id=destination.id, label=label, url=destination.url, why=why, now=now,
        noun=noun, path=path))


async def remove(session: AsyncSession, found: Configured[Any], *, label: str, why: str, now: datetime,
                 noun: str = "webhook subscription", path: str | None = None) -> None:
    """Delete a destination: its queue dropped and the admins told (saying ``why``), then it and
    everything it sent (``remove_destination``)."""
    url = found.destination.url

    def work(s: Session) -> None:
        notices.switch_off(s, what="deleted", destination_id=found.id, label=label, url=url, why=why, now=now,
                           noun=noun, path=path)
        s.expunge(found.settings)
        s.expunge(found.destination)
        remove_destination(s, found.id)

    await session.run_sync(work)


def resume(destination: Destination, now: datetime) -> bool:
    """Clear a temporary disabling (the failure-rate rule starts afresh); whether it was disabled."""
    if not destination.temporarily_disabled:
        return False
    destination.temporarily_disabled = False
    destination.disabled_reason = None
    destination.judged_since = now
    destination.updated_at = now
    return True


async def delete_subscription(session: AsyncSession, subscription_id: str, actor: Actor, now: datetime) -> None:
    sub = await get_subscription(session, subscription_id, lock=True)
    before, label = snapshot(sub), sub.label
    await remove(session, sub, label=label, why=f"deleted by {who(actor)}", now=now)
    record(session, actor, action="delete", resource_type=RESOURCE, resource_id=subscription_id, summary=label,
           before=before, at=now)


async def enable_subscription(session: AsyncSession, subscription_id: str, actor: Actor,
                              now: datetime) -> Subscription:
    """Sending resumes (queued deliveries were dropped when it was disabled; new changes are sent),
    with the failure-rate rule starting afresh."""
    sub = await get_subscription(session, subscription_id, lock=True)
    before = snapshot(sub)
    if resume(sub.destination, now):
        await session.flush()
        record(session, actor, action="update", resource_type=RESOURCE, resource_id=sub.id, summary=sub.label,
               before=before, after=snapshot(sub), at=now)
    return sub


async def deactivate_filtered_on(session: AsyncSession, service_id: str, why: str, actor: Actor,
                                 now: datetime) -> list[str]:
    """Turn off every active subscription whose filter is this (deleted) service: its queue is
    dropped, the admins told, an audit record written for each. Their ids."""
    rows = await session.execute(
        select(Destination, WebhookSubscription).join(WebhookSubscription, WebhookSubscription.id == Destination.id)
        .where(Destination.kind == WEBHOOK, Destination.active.is_(True),
               WebhookSubscription.filter_type == "service_reference", WebhookSubscription.filter_id == service_id)
        .order_by(Destination.created_at, Destination.id).with_for_update(of=Destination))
    turned_off = []
    for destination, settings in rows.all():
        sub = Subscription(destination, settings)
        before = snapshot(sub)
        await set_active(session, destination, False, label=sub.label, why=why, now=now)
        destination.updated_at = now
        await session.flush()
        record(session, actor, action="update", resource_type=RESOURCE, resource_id=sub.id, summary=sub.label,
               before=before, after=snapshot(sub), at=now)
        turned_off.append(sub.id)
    return turned_off


def _sending(sub: Subscription) -> None:
    if not sub.destination.active:
        raise InvalidInput(errors=["webhook_subscription: is not active (set active to true first)"])
    if sub.destination.temporarily_disabled:
        raise InvalidInput(errors=["webhook_subscription: is temporarily disabled (POST .../enable first)"])


async def ping(session: AsyncSession, subscription_id: str, now: datetime) -> str:
    """Queue a ``pagey.ping`` to the subscription alone; the new delivery's id."""
    sub = await get_subscription(session, subscription_id)
    _sending(sub)
    event_id = new_uuid()
    event = Event(event_id, PING, PAGEY, sub.id, now, render(envelope(event_id, PING, PAGEY, now, None, None,
                                                                        ping_data())))
    ids = await session.run_sync(lambda s: store(s, [event], [Send(event, sub.id, f"ping:{event_id}")], now))
    return ids[0]


async def rotate_secret(session: AsyncSession, subscription_id: str, actor: Actor,
                        now: datetime) -> tuple[Subscription, str]:
    """A new signing secret (returned this once); the current one keeps signing beside it for
    ``ROTATION_GRACE`` (a secret rotated out earlier stops at once)."""
    sub = await get_subscription(session, subscription_id, lock=True)
    before = snapshot(sub)
    sealer = await _vault(session, now)
    secret = new_secret()
    sub.settings.previous_secret = sub.settings.secret
    sub.settings.previous_secret_until = now + ROTATION_GRACE
    sub.settings.secret = sealer.seal(secret)
    sub.settings.secret_rotated_at = now
    sub.destination.updated_at = now
    await session.flush()
    record(session, actor, action="update", resource_type=RESOURCE, resource_id=sub.id, summary=sub.label,
           before=before, after=snapshot(sub), at=now)
    return sub, secret


# --- deliveries (Tocsin extensions) -------------------------------------------------------

def deliveries_query(subscription_id: str, status: str | None) -> Any:
    """Newest first."""
    query = select(Delivery).where(Delivery.destination_id == subscription_id)
    if status is not None:
        if status not in (PENDING, *FINISHED):
            raise InvalidInput(errors=[f"status must be one of {[PENDING, *FINISHED]}"])
        query = query.where(Delivery.status == status)
    return query.order_by(Delivery.seq.desc())


async def attempts_of(session: AsyncSession, deliveries: Sequence[Delivery]) -> dict[int, list[DeliveryAttempt]]:
    found: dict[int, list[DeliveryAttempt]] = {d.seq: [] for d in deliveries}
    if found:
        for attempt in await session.scalars(
                select(DeliveryAttempt).where(DeliveryAttempt.delivery_seq.in_(list(found)))
                .order_by(DeliveryAttempt.attempted_at, DeliveryAttempt.id)):
            found[attempt.delivery_seq].append(attempt)
    return found


async def redeliver(session: AsyncSession, subscription_id: str, delivery_id: str, now: datetime) -> Delivery:
    """A finished delivery (delivered, failed or dropped) is sent again as a new delivery (its own
    ``X-Webhook-Id``, behind whatever its incident still has queued). A pending one is refused: it
    is still being tried on the retry schedule. Returns the new delivery."""
    sub = await get_subscription(session, subscription_id)
    _sending(sub)
    found = await session.scalar(select(Delivery).where(Delivery.id == delivery_id,
                                                        Delivery.destination_id == subscription_id))
    if found is None:
        raise NotFound(f"Delivery {delivery_id} not found", errors=["Delivery not found"])
    if found.status == PENDING:
        raise InvalidInput(errors=[(f"delivery {delivery_id}: is still pending (attempt {found.attempts + 1} "
                                    f"is due at {iso(found.due_at)}); only a finished delivery can be redelivered")])
    event_id, event_type, stream = found.event_id, found.event_type, found.stream
    new = await session.run_sync(lambda s: requeue(s, event_id, event_type, subscription_id, stream, now))
    again = await session.scalar(select(Delivery).where(Delivery.id == new))
    assert again is not None
    return again
