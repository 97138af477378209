"""Telling the account's admins that a destination stopped receiving (disabled for failing, turned
off by hand, deleted).

One ``NOTICE`` notification per admin (role owner or admin, not deleted) and email address: each
of their email contact methods, or the account email of an admin who has none. The engine's
notify step sends them like any other notification (retries, outcome on the row). A notice's key
names the destination, the change and its instant, so a change is announced once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tocsin.auth.models import User
from tocsin.db.base import table_of
from tocsin.ids import new_id
from tocsin.notifications.models import EMAIL, NOTICE, PENDING, Notification
from tocsin.users.models import ContactMethod
from tocsin.webhooks.queue import drop_queued

ADMIN_ROLES = ("owner", "admin")
EMAIL_METHOD = "email_contact_method"


def admin_addresses(session: Session) -> list[tuple[str, str | None, str]]:
    """(user id, contact method id or None, address) of every live admin's email. Two statements."""
    admins = session.execute(select(User.id, User.email).where(User.role.in_(ADMIN_ROLES), User.deleted_at.is_(None))
                             .order_by(User.created_at, User.id)).all()
    if not admins:
        return []
    methods: dict[str, list[tuple[str, str]]] = {}
    for user_id, method_id, address in session.execute(
            select(ContactMethod.user_id, ContactMethod.id, ContactMethod.address)
            .where(ContactMethod.user_id.in_([a for a, _ in admins]), ContactMethod.type == EMAIL_METHOD)
            .order_by(ContactMethod.created_at, ContactMethod.id)):
        methods.setdefault(user_id, []).append((method_id, address))
    found: list[tuple[str, str | None, str]] = []
    for user_id, email in admins:
        mine = methods.get(user_id)
        if mine:
            found.extend((user_id, method_id, address) for method_id, address in mine)
        else:
            found.append((user_id, None, email))
    return found


NOTICES_DUE = "webhook_notices_due"  # session.info: the earliest notice queued in the transaction


def announce(session: Session, *, what: str, destination_id: str, subject: str, lines: list[str],
             now: datetime) -> int:
    """Queue the notice to every admin; how many notifications were made. ``what`` names the change
    (``disabled``, ``deactivated``, ``deleted``) in the notices' keys."""
    rows: list[dict[str, Any]] = []
    detail = {"subject": subject, "lines": lines, "destination_id": destination_id, "what": what}
    for user_id, method_id, address in admin_addresses(session):
        rows.append({
            "id": new_id(), "key": f"notice:{destination_id}:{what}:{now.isoformat()}:{user_id}:{address}"[:255],
            "kind": NOTICE, "incident_id": None, "user_id": user_id, "contact_method_id": method_id,
            "rule_id": None, "channel": EMAIL, "address": address, "urgency": None, "detail": detail,
            "status": PENDING, "due_at": now, "attempts": 0, "last_error": None, "provider_response": None,
            "sent_at": None, "created_at": now, "updated_at": now})
    if rows:
        dialect = session.get_bind().dialect.name
        statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table_of(Notification))
        session.execute(statement.on_conflict_do_nothing(index_elements=["key"]), rows)
        # Sends due now: the engine's before-commit hook announces them to the notify step.
        session.info[NOTICES_DUE] = min(now, session.info.get(NOTICES_DUE, now))
    return len(rows)


def safe_url(url: str) -> str:
    """The URL as a notice shows it: scheme, host and path (a query may carry a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def switch_off(session: Session, *, what: str, destination_id: str, label: str, url: str, why: str,
               now: datetime, noun: str = "webhook subscription", path: str | None = None) -> int:
    """A destination stops receiving (``what``: disabled | deactivated | deleted): drop its queued
    deliveries, saying ``why`` on each, and tell the admins. Returns how many were dropped.
    ``noun`` and ``path`` (its REST resource) name the kind: a webhook subscription, a forwarder,
    a chat webhook."""
    path = path or f"/webhook_subscriptions/{destination_id}"
    dropped = drop_queued(session, destination_id, f"dropped: {why}", now)
    headline = {"disabled": "disabled after repeated failures", "deactivated": "turned off",
                "deleted": "deleted"}.get(what, what)
    lines = [f"The {noun} {label} ({destination_id}) to {safe_url(url)} was {headline}: {why}.",
             f"{dropped} queued deliver{'y was' if dropped == 1 else 'ies were'} dropped (each is listed with "
             f"the reason under GET {path}/deliveries)."
             if what != "deleted" else f"{dropped} queued deliver{'y was' if dropped == 1 else 'ies were'} dropped."]
    if what == "disabled":
        lines.append(f"Its settings are kept. Once the receiver works again, enable it with "
                     f"POST {path}/enable.")
    elif what == "deactivated":
        lines.append("Its settings are kept; set active to true to send again.")
    announce(session, what=what, destination_id=destination_id,
             subject=f"{noun[:1].upper()}{noun[1:]} {headline}: {label}", lines=lines, now=now)
    return dropped
