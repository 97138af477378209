"""Notification rows -> PagerDuty's ``Notification`` JSON.

PagerDuty's fields: ``id``, ``type`` (``email_notification`` ...), ``started_at``, ``address``
(null for push), ``user``, ``status``. Tocsin adds what its durable rows know: ``kind``
(incident, handoff, test or notice), the ``incident`` it was about, the provider's answer
(``provider_response``) and, for a failed send, why (``error``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from tocsin.http.refs import envelope, iso, reference
from tocsin.notifications.addresses import NOTIFICATION_TYPES
from tocsin.notifications.models import PUSH, Notification
from tocsin.notifications.queries import started_at
from tocsin.users.queries import UserFacts


def user_json(base: str, user_id: str, facts: UserFacts | None, expand: bool) -> dict[str, Any]:
    """A user reference, or with ``include[]=users`` the user's own fields too."""
    name = facts.name if facts is not None else user_id  # a deleted user: the id stands in
    if not expand:
        return reference(base, "user", user_id, name)
    body = envelope(base, "user", user_id, name)
    if facts is not None:
        body.update(name=facts.name, email=facts.email, time_zone=facts.time_zone, role=facts.role,
                    color=facts.color)
    return body


def notification_json(
    base: str, row: Notification, *, users: Mapping[str, UserFacts], expand_users: bool = False,
    incidents: Mapping[str, tuple[int, str]] | None = None, tz: ZoneInfo | None = None,
) -> dict[str, Any]:
    incident = None
    if row.incident_id is not None:
        number, title = (incidents or {}).get(row.incident_id, (None, None))
        summary = f"[#{number}] {title}" if number is not None else row.incident_id
        incident = reference(base, "incident", row.incident_id, summary)
    return {
        "id": row.id,
        "type": NOTIFICATION_TYPES.get(row.channel, f"{row.channel}_notification"),
        "started_at": iso(started_at(row), tz),
        "address": None if row.channel == PUSH else row.address,
        "user": user_json(base, row.user_id, users.get(row.user_id), expand_users),
        "status": row.status,
        "kind": row.kind,
        "incident": incident,
        "provider_response": row.provider_response,
        "error": row.last_error,
    }
