"""The users domain's public read surface for other domains (each takes the caller's session)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.models import User
from tocsin.db.id_lists import one_of
from tocsin.users.models import ContactMethod, NotificationRule


@dataclass(frozen=True)
class UserFacts:
    id: str
    name: str
    email: str
    role: str
    time_zone: str
    color: str | None


@dataclass(frozen=True)
class ContactMethodFacts:
    id: str
    user_id: str
    type: str
    label: str
    address: str
    country_code: int | None
    send_short_email: bool


@dataclass(frozen=True)
class NotificationRuleFacts:
    id: str
    user_id: str
    contact_method_id: str
    start_delay_in_minutes: int
    urgency: str


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in ids if i))


# Built once, with the ids as one list parameter (``one_of``): the events processor asks both every
# batch, where building a statement and expanding its IN list cost more than running it. Columns of
# the ORM entity, so the session still flushes pending changes before reading.
_LIVE = User.deleted_at.is_(None)
_USER_REFS = select(User.id, User.name, User.email, User.role, User.time_zone, User.color).where(
    one_of(User.id, name="ids"), _LIVE)
_EXISTING_USER_IDS = select(User.id).where(one_of(User.id, name="ids"), _LIVE)


async def user_refs(session: AsyncSession, ids: Iterable[str]) -> dict[str, UserFacts]:
    """Facts about the given users that exist and are not deleted, keyed by id."""
    wanted = _unique(ids)
    if not wanted:
        return {}
    rows = await session.execute(_USER_REFS, {"ids": wanted})
    return {u.id: UserFacts(u.id, u.name, u.email, u.role, u.time_zone, u.color) for u in rows}


async def existing_user_ids(session: AsyncSession, ids: Iterable[str]) -> set[str]:
    """The subset of ``ids`` naming users that exist and are not deleted."""
    wanted = _unique(ids)
    if not wanted:
        return set()
    rows = await session.execute(_EXISTING_USER_IDS, {"ids": wanted})
    return set(rows.scalars())


async def contact_methods_of(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, list[ContactMethodFacts]]:
    """Each (non-deleted) user's contact methods, oldest first; users without any map to []."""
    wanted = _unique(user_ids)
    found: dict[str, list[ContactMethodFacts]] = {u: [] for u in await existing_user_ids(session, wanted)}
    if not found:
        return {}
    rows = (await session.execute(
        select(ContactMethod).where(ContactMethod.user_id.in_(list(found)))
        .order_by(ContactMethod.created_at, ContactMethod.id)
    )).scalars()
    for m in rows:
        found[m.user_id].append(ContactMethodFacts(
            m.id, m.user_id, m.type, m.label, m.address, m.country_code, m.send_short_email))
    return found


async def notification_rules_of(
    session: AsyncSession, user_ids: Iterable[str],
) -> dict[str, list[NotificationRuleFacts]]:
    """Each (non-deleted) user's notification rules, by delay; users without any map to []."""
    wanted = _unique(user_ids)
    found: dict[str, list[NotificationRuleFacts]] = {u: [] for u in await existing_user_ids(session, wanted)}
    if not found:
        return {}
    rows = (await session.execute(
        select(NotificationRule).where(NotificationRule.user_id.in_(list(found)))
        .order_by(NotificationRule.start_delay_in_minutes, NotificationRule.id)
    )).scalars()
    for r in rows:
        found[r.user_id].append(NotificationRuleFacts(
            r.id, r.user_id, r.contact_method_id, r.start_delay_in_minutes, r.urgency))
    return found


async def live_user_names(session: AsyncSession) -> list[tuple[str, str]]:
    """(id, name) of every user not deleted, by name (who the web UI may reassign to)."""
    rows = await session.execute(select(User.id, User.name).where(User.deleted_at.is_(None))
                                 .order_by(User.name, User.id))
    return [(i, n) for i, n in rows]
