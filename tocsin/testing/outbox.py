"""What the captured channels "sent", joined with the notification rows (who, which incident).

A channel only sees the rendered message; the row behind it says which user and incident it was
for, which is what a test asserts on ("the responder was paged about this incident").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tocsin.api.app import Tocsin
from tocsin.notifications.capture import CapturedChannels, Outbox
from tocsin.notifications.models import Notification


def outbox_of(tocsin: Tocsin) -> Outbox:
    channels = tocsin.notification_channels
    if not isinstance(channels, CapturedChannels):
        raise RuntimeError("notifications are not captured in this app (settings.capture_notifications is off)")
    return channels.outbox


@dataclass(frozen=True)
class SentNotification:
    """A message a person would have received."""

    channel: str  # email | sms | phone
    to: str  # the address: an email address or a phone number
    subject: str
    text: str
    user_id: str | None
    incident_id: str | None
    kind: str | None  # incident | handoff | test
    notification_id: str
    sent_at: datetime  # Tocsin's clock
    actions: dict[str, str]  # "acknowledge" / "resolve" -> signed link

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "to": self.to, "subject": self.subject, "text": self.text,
                "user_id": self.user_id, "incident_id": self.incident_id, "kind": self.kind,
                "notification_id": self.notification_id, "sent_at": self.sent_at.isoformat(),
                "actions": self.actions}


async def sent_notifications(tocsin: Tocsin) -> list[SentNotification]:
    """Everything captured so far, oldest first (one read of the rows behind them)."""
    messages = outbox_of(tocsin).messages()
    rows: dict[str, tuple[str, str | None, str]] = {}
    if messages:
        async with tocsin.db.transaction() as session:
            found = await session.execute(
                select(Notification.id, Notification.user_id, Notification.incident_id, Notification.kind)
                .where(Notification.id.in_(sorted({m.notification_id for m in messages}))))
            rows = {nid: (user, incident, kind) for nid, user, incident, kind in found}
    sent = []
    for m in messages:
        user, incident, kind = rows.get(m.notification_id, (None, None, None))
        sent.append(SentNotification(
            channel=m.channel, to=m.address, subject=m.subject, text=m.text, user_id=user, incident_id=incident,
            kind=kind, notification_id=m.notification_id, sent_at=m.captured_at, actions=dict(m.actions)))
    return sent
