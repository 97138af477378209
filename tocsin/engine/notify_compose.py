"""What the notify step sends for a batch of due rows (no I/O): which rows are not to be sent
after all, and the messages for the rest, incident pages to one contact method bundled into one
(``notifications.bundles``), each with its signed acknowledge and resolve links."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tocsin.engine.notify_facts import BatchFacts, DueSend, message_key
from tocsin.engine.notify_send import Outcome
from tocsin.notifications.bundles import bundle_message, listed
from tocsin.notifications.channel import Message
from tocsin.notifications.links import ACKNOWLEDGE, RESOLVE, action_url, voice_url
from tocsin.notifications.messages import (
    contact_test_message,
    handoff_facts,
    handoff_message,
    incident_message,
    notice_message,
)
from tocsin.notifications.models import (
    CANCELLED,
    EMAIL,
    FAILED,
    HANDOFF,
    INCIDENT,
    NOTICE,
    PHONE,
    SMS,
    SUPPRESSED,
    TEST,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Send:
    """One message to one contact method: for one row, or for a bundle's rows (lead first)."""
    rows: list[DueSend]
    message: Message

    @property
    def bundle(self) -> str | None:
        return bundle_of(self.rows)


def bundle_of(rows: Sequence[DueSend]) -> str | None:
    """The lead row's id when one message's rows name several incidents (a bundle); None for one
    incident's page (two rules' sends of one incident to one address are one page)."""
    return rows[0].id if len({row.incident_id for row in rows}) > 1 else None


def not_to_send(row: DueSend, facts: BatchFacts) -> Outcome | None:
    """The outcome of a row that is not to be sent after all; None: send it."""
    if row.kind != INCIDENT:
        return None
    incident = facts.incidents.get(row.incident_id or "")
    if incident is None or incident.status != "triggered":
        why = "the incident is gone" if incident is None else f"the incident is {incident.status}"
        return Outcome(row.id, CANCELLED, error=f"not sent: {why}")
    if row.user_id not in facts.assignees.get(incident.id, set()):
        return Outcome(row.id, CANCELLED, error="not sent: the user is no longer assigned")
    if incident.service_id in facts.maintenance:
        return Outcome(row.id, SUPPRESSED, error=f"not sent: the service is in maintenance window "
                                                 f"{facts.maintenance[incident.service_id]}")
    return None


def compose(rows: Sequence[DueSend], facts: BatchFacts, secret: bytes, now: datetime, base_url: str,
            failed: dict[str, Outcome]) -> list[Send]:
    """The messages for ``rows``: incident pages to one contact method bundled into one, every
    other row its own. A row whose message cannot be rendered fails alone (its outcome goes into
    ``failed``): it must not stop the batch."""
    groups: dict[tuple[str, ...], list[DueSend]] = {}
    for row in rows:
        groups.setdefault(message_key(row), []).append(row)
    sends: list[Send] = []
    for group in groups.values():
        try:
            message = (_render_bundle(group, facts, secret, now, base_url) if bundle_of(group)
                       else _render(group[0], facts, secret, now, base_url))
        except Exception as exc:
            logger.exception("notification %s could not be rendered", group[0].id)
            failed.update((row.id, Outcome(row.id, FAILED, error=f"could not render the message: {exc}"))
                          for row in group)
            continue
        sends.append(Send(group, message))
    return sends


def _render_bundle(rows: Sequence[DueSend], facts: BatchFacts, secret: bytes, now: datetime,
                   base_url: str) -> Message:
    lead, user = rows[0], rows[0].user_id
    incidents = [facts.incidents[i] for i in dict.fromkeys(row.incident_id or "" for row in rows)]
    shown = [facts.incident_facts(i) for i in incidents]
    # Signed links for the incidents an email lists (SMS and calls carry none: one answer for all).
    with_links = listed(shown) if lead.channel not in (SMS, PHONE) else []
    links = {i.id: {a: action_url(base_url, secret, incident_id=i.id, user_id=user, action=a, now=now)
                    for a in (ACKNOWLEDGE, RESOLVE)} for i in with_links}
    # And for all of them at once (the lead row names the bundle: ``engine.actions.bundled_incidents``).
    all_links = {a: action_url(base_url, secret, incident_id=incidents[0].id, user_id=user, action=a, now=now,
                               bundle=lead.id) for a in (ACKNOWLEDGE, RESOLVE)} if lead.channel == EMAIL else {}
    return bundle_message(
        lead.id, lead.channel, lead.address, shown,
        base_url=base_url, links=links, all_links=all_links,
        voice_callback_url=voice_url(base_url, secret, incident_id=incidents[0].id, user_id=user, now=now,
                                     bundle=lead.id) if lead.channel == PHONE else None)


def _render(row: DueSend, facts: BatchFacts, secret: bytes, now: datetime, base_url: str) -> Message:
    if row.kind == INCIDENT:
        incident = facts.incidents[row.incident_id or ""]

        def link(action: str) -> str:
            return action_url(base_url, secret, incident_id=incident.id, user_id=row.user_id, action=action, now=now)

        return incident_message(
            row.id, row.channel, row.address, facts.incident_facts(incident), base_url=base_url,
            links={ACKNOWLEDGE: link(ACKNOWLEDGE), RESOLVE: link(RESOLVE)},
            voice_callback_url=voice_url(base_url, secret, incident_id=incident.id, user_id=row.user_id,
                                         now=now) if row.channel == PHONE else None,
        )
    if row.kind == HANDOFF:
        return handoff_message(row.id, row.channel, row.address, handoff_facts(row.detail or {}), base_url=base_url)
    if row.kind == NOTICE:
        return notice_message(row.id, row.channel, row.address, row.detail or {}, base_url=base_url)
    if row.kind == TEST:
        label = (row.detail or {}).get("label")
        return contact_test_message(row.id, row.channel, row.address, label=str(label) if label else None)
    raise ValueError(f"unknown notification kind {row.kind!r}")
