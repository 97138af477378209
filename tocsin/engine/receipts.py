"""Message receipts: a provider's acceptance kept until the message's rows are recorded.

The notify step writes one ``MessageReceipt`` the moment a provider accepts a message (its own
transaction), listing the notification rows the message carried. Whoever claims one of those
rows next finds it (``notify_facts.load_facts``) and records the row as sent instead of sending
it again. Recording settles receipts here: this run's own are deleted; a dead engine's receipt
loses the rows just recorded and goes once it lists none. The narrowing is done by the database
on the row as it is then, not from what this engine read: two engines recording different parts
of one dead engine's bundle at once must not each write back a list missing only their part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db.base import table_of
from tocsin.db.id_lists import ValueList, one_of
from tocsin.engine.notify_facts import DueSend, Receipt
from tocsin.engine.notify_send import Outcome
from tocsin.notifications.models import SENT, MessageReceipt

RECEIPTS = table_of(MessageReceipt)
_DELETED = delete(RECEIPTS).where(one_of(RECEIPTS.c.id, name="ids"))
_LISTS = (bindparam("ids", type_=ValueList()), bindparam("recorded", type_=ValueList()))
# A receipt without the rows just recorded, then gone if it lists none (per database: JSON differs).
_NARROWED = {
    False: text("UPDATE message_receipts SET notification_ids = notification_ids - CAST(:recorded AS text[]) "
                "WHERE id = ANY(:ids)").bindparams(*_LISTS),
    True: text("UPDATE message_receipts SET notification_ids = (SELECT json_group_array(held.value) "
               "FROM json_each(message_receipts.notification_ids) AS held "
               "WHERE held.value NOT IN (SELECT value FROM json_each(:recorded))) "
               "WHERE id IN (SELECT value FROM json_each(:ids))").bindparams(*_LISTS),
}
_EMPTIED = {
    False: text("DELETE FROM message_receipts WHERE id = ANY(:ids) AND jsonb_array_length(notification_ids) = 0")
    .bindparams(_LISTS[0]),
    True: text("DELETE FROM message_receipts WHERE id IN (SELECT value FROM json_each(:ids)) "
               "AND json_array_length(notification_ids) = 0").bindparams(_LISTS[0]),
}


def receipt_row(ids: Sequence[str], accepted_at: datetime, response: dict[str, Any] | None,
                bundle: str | None) -> dict[str, Any]:
    """The receipt of a message that carried the rows ``ids`` (its lead first, which names it)."""
    return {"id": ids[0], "notification_ids": list(ids), "accepted_at": accepted_at,
            "provider_response": response, "bundle": bundle}


def settled_receipts(rows: Sequence[DueSend], outcomes: Sequence[Outcome], known: Mapping[str, Receipt], *,
                     fresh: bool) -> tuple[list[str], list[str], list[str]]:
    """What recording ``rows`` settles: this run's receipts to delete, the receipts of a dead
    engine's messages to narrow, and the rows recorded as sent (which they no longer cover).

    ``known``: the receipts found for the rows; ``fresh``: each message accepted in this run wrote
    one, named by its lead row (one of the rows sent: deleting a few ids more costs nothing)."""
    sent = [row.id for row, outcome in zip(rows, outcomes, strict=True) if outcome.status == SENT]
    found = {known[nid].id for nid in sent if nid in known}
    own = sorted(nid for nid in sent if nid not in known) if fresh else []
    return own, sorted(found), sent


async def settle(session: AsyncSession, rows: Sequence[DueSend], outcomes: Sequence[Outcome],
                 known: Mapping[str, Receipt], *, fresh: bool, sqlite: bool) -> None:
    """Delete or narrow the receipts that recording ``rows`` settles (``settled_receipts``)."""
    own, found, sent = settled_receipts(rows, outcomes, known, fresh=fresh)
    if own:
        await session.execute(_DELETED, {"ids": own})
    if found:
        await session.execute(_NARROWED[sqlite], {"ids": found, "recorded": sent})
        await session.execute(_EMPTIED[sqlite], {"ids": found})
