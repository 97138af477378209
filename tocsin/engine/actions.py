"""Acting on an incident from a notification: an action link's button, an SMS reply, a key
pressed during a call. In the caller's transaction, as the user the notification went to.

The change goes through the incident transition seam like a REST change, with the channel it
came through (PagerDuty's log entry channels: ``website``, ``sms``, ``phone``), so the log, the
planner and the webhooks see it as any other acknowledgement or resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.roles import role_allows
from tocsin.db.session import Database
from tocsin.engine.action_pages import IncidentView
from tocsin.errors import NotFound
from tocsin.incidents.models import Incident
from tocsin.incidents.queries import get_incident
from tocsin.incidents.transition_records import Acknowledge, Act, Resolve
from tocsin.incidents.transition_writer import change, user_ref
from tocsin.notifications.addresses import same_phone, stored_forms
from tocsin.notifications.links import ACKNOWLEDGE, RESOLVE
from tocsin.notifications.models import SENT, SMS, Notification
from tocsin.notifications.queries import link_secret
from tocsin.services.queries import service_names
from tocsin.users.models import ContactMethod
from tocsin.users.queries import user_refs


@dataclass(frozen=True, slots=True)
class Via:
    """How the person acted: the log entry's channel and the words its summary uses."""

    channel: dict[str, Any]
    phrase: str


LINK = Via({"type": "website"}, "a notification's action link")
SMS_REPLY = Via({"type": "sms"}, "an SMS reply")
PHONE_CALL = Via({"type": "phone"}, "a key pressed in a phone call")


class Outcome(StrEnum):
    DONE = "done"
    ALREADY_RESOLVED = "already_resolved"
    NO_INCIDENT = "no_incident"
    NO_USER = "no_user"  # the user the notification went to was deleted since
    NOT_ALLOWED = "not_allowed"  # the user's role may not change incidents (an observer)


@dataclass(frozen=True, slots=True)
class ActionResult:
    outcome: Outcome
    view: IncidentView | None = None
    user_name: str | None = None


async def _view(session: AsyncSession, incident: Incident) -> IncidentView:
    names = await service_names(session, {incident.service_id})
    merged_into = None
    if incident.merged_into_id is not None:
        merged_into = (await session.execute(
            select(Incident.number).where(Incident.id == incident.merged_into_id))).scalar_one_or_none()
    return IncidentView(number=incident.number, title=incident.title,
                        service=names.get(incident.service_id, incident.service_id), status=incident.status,
                        urgency=incident.urgency, merged_into=merged_into)


async def incident_view(session: AsyncSession, incident_id: str) -> IncidentView | None:
    """What a page shows about the incident; None when there is no such incident."""
    try:
        incident = await get_incident(session, incident_id)
    except NotFound:
        return None
    return await _view(session, incident)


async def act(session: AsyncSession, incident_id: str, user_id: str, action: str, via: Via,
              at: datetime) -> ActionResult:
    """Acknowledge or resolve the incident as ``user_id``. A resolved incident is left alone
    (``ALREADY_RESOLVED``: acting late on a page is normal, not an error)."""
    if action not in (ACKNOWLEDGE, RESOLVE):
        raise ValueError(f"not an incident action: {action!r}")
    try:
        incident = await get_incident(session, incident_id, for_update=True)
    except NotFound:
        return ActionResult(Outcome.NO_INCIDENT)
    facts = (await user_refs(session, [user_id])).get(user_id)
    if facts is None:
        return ActionResult(Outcome.NO_USER, await _view(session, incident))
    if not role_allows(facts.role, "incidents.write"):
        return ActionResult(Outcome.NOT_ALLOWED, await _view(session, incident), facts.name)
    if incident.status == "resolved":
        return ActionResult(Outcome.ALREADY_RESOLVED, await _view(session, incident), facts.name)
    agent = user_ref(user_id)
    if action == ACKNOWLEDGE:
        command: Acknowledge | Resolve = Acknowledge(agent)
        summary = f"Acknowledged by {facts.name} through {via.phrase}."
    else:
        command = Resolve()
        summary = f"Resolved by {facts.name} through {via.phrase}."
    await change(session, incident, command, Act(at=at, agent=agent, channel=via.channel, summary=summary))
    await session.flush()
    return ActionResult(Outcome.DONE, await _view(session, incident), facts.name)


# How many of a phone's latest SMS notifications are looked at to find the incident a reply means.
_RECENT_SMS = 50


async def sms_target(session: AsyncSession, phone: str, number: int | None) -> tuple[list[str], str] | None:
    """(incident ids, user id) an SMS reply from ``phone`` acts on: the incident ``number`` if one
    was sent to this phone, else the newest open incident sent to it (every open incident of it
    when that was a bundled page); None when there is none. Only incidents actually sent to the
    phone qualify, so a reply can never reach another one."""
    query = (
        select(Notification.incident_id, Notification.user_id, Notification.address,
               Notification.contact_method_id, Notification.detail)
        .join(Incident, Incident.id == Notification.incident_id)
        .where(Notification.channel == SMS, Notification.status == SENT,
               Notification.address.in_(stored_forms(phone)))
    )
    query = query.where(Incident.status != "resolved") if number is None else query.where(Incident.number == number)
    rows = (await session.execute(
        query.order_by(Notification.sent_at.desc(), Notification.id.desc()).limit(_RECENT_SMS))).all()
    method_ids = [r.contact_method_id for r in rows if r.contact_method_id and not r.address.startswith("+")]
    codes: dict[str, int | None] = {}
    if method_ids:
        codes = dict((await session.execute(
            select(ContactMethod.id, ContactMethod.country_code).where(ContactMethod.id.in_(method_ids)))).all())
    for row in rows:
        if same_phone(phone, row.address, codes.get(row.contact_method_id or "")):
            assert row.incident_id is not None  # joined to an incident
            bundle = (row.detail or {}).get("bundle") if number is None else None
            if bundle:
                return await bundled_incidents(session, str(bundle), row.user_id, SMS) or [row.incident_id], row.user_id
            return [row.incident_id], row.user_id
    return None


async def bundled_incidents(session: AsyncSession, bundle: str, user_id: str, channel: str) -> list[str]:
    """The open incidents a bundled page (its lead notification ``bundle``) named, oldest first."""
    found = await session.execute(
        select(Notification.incident_id).join(Incident, Incident.id == Notification.incident_id)
        .where(Notification.user_id == user_id, Notification.channel == channel,
               Notification.detail["bundle"].as_string() == bundle, Incident.status != "resolved")
        .order_by(Incident.number))
    return [str(i) for i in found.scalars()]


async def bundle_views(session: AsyncSession, bundle: str, user_id: str, channel: str) -> list[IncidentView]:
    """What an "all" link's page shows: the bundle's open incidents, oldest first."""
    views = []
    for incident_id in await bundled_incidents(session, bundle, user_id, channel):
        view = await incident_view(session, incident_id)
        if view is not None:
            views.append(view)
    return views


# The instance's link secret never changes once made: read once per database per process.
_LINK_SECRETS: WeakKeyDictionary[Database, bytes] = WeakKeyDictionary()


async def link_secret_of(db: Database, now: datetime) -> bytes:
    """The action-link signing key (``notifications.queries.link_secret``), cached."""
    found = _LINK_SECRETS.get(db)
    if found is None:
        async with db.transaction() as session:
            found = await session.run_sync(lambda s: link_secret(s, now))
        _LINK_SECRETS[db] = found
    return found
