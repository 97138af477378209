"""``POST /users/{id}/contact_methods/{cm_id}/test``: one message through the real channel, now.

The send happens outside any transaction (a slow provider never holds the database), then the
outcome is recorded as a durable ``Notification`` row of kind TEST, already final (SENT or
FAILED): it is never PENDING, so the notify step can never send it a second time.
A channel that is not configured, refuses, or cannot be reached makes a FAILED row carrying the
reason; the request itself succeeded (the test ran and its answer is the result), so the answer
is a 200 either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tocsin.db.session import Database
from tocsin.ids import new_id
from tocsin.notifications.addresses import channel_of, send_address
from tocsin.notifications.channel import Channel, ChannelError, Delivery, Message, NotConfigured
from tocsin.notifications.messages import contact_test_message
from tocsin.notifications.models import FAILED, SENT, TEST, Notification
from tocsin.users.contact_logic import get_method
from tocsin.users.logic import Editor, get_user, require_editable

log = logging.getLogger(__name__)

# The channel for a name ("email", "sms", "phone", "push"); raises LookupError for none.
# The composition root passes the configured channels (``Channels.for_channel``).
ChannelLookup = Callable[[str], Channel]
# A test waits this long for the provider at most (the channels keep shorter timeouts of their own).
SEND_TIMEOUT = 30.0


class _Unconfigured:
    """What a channel is before the channels are wired in: present, never configured."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def configured(self) -> bool:
        return False

    async def send(self, message: Message) -> Delivery:
        raise NotConfigured(self.name, "its provider settings")


def no_channels(name: str) -> Channel:
    """The lookup used when none is given: every channel reports that it is not configured."""
    return _Unconfigured(name)


async def _deliver(channels: ChannelLookup, message: Message) -> tuple[str, dict[str, Any] | None, str | None]:
    """(status, provider response, error) of one attempt; never raises."""
    try:
        channel = channels(message.channel)
    except LookupError:
        return FAILED, None, f"Tocsin has no channel that sends {message.channel} notifications"
    try:
        async with asyncio.timeout(SEND_TIMEOUT):
            delivery = await channel.send(message)
    except ChannelError as exc:
        return FAILED, exc.response or None, str(exc)
    except TimeoutError:
        return FAILED, None, f"the {message.channel} provider did not answer within {SEND_TIMEOUT:.0f} s"
    except Exception as exc:  # a broken channel is reported on the row, never a 500
        log.exception("the %s channel failed unexpectedly on a test send", message.channel)
        return FAILED, None, f"the {message.channel} channel failed unexpectedly ({type(exc).__name__})"
    return SENT, delivery.response, None


async def send_test(
    db: Database, channels: ChannelLookup, editor: Editor, user_id: str, method_id: str,
    now: Callable[[], datetime],
) -> Notification:
    """Send a test message to one contact method and record the outcome (see the module doc).
    Unknown user or method: NotFound (404); someone else's method without admin rights: 403."""
    async with db.transaction() as session:
        user = await get_user(session, user_id)
        method = await get_method(session, user_id, method_id)
        require_editable(editor, user)
        label, method_type = method.label, method.type
        address = send_address(method.type, method.address, method.country_code)
    notification_id = new_id()
    channel = channel_of(method_type) or method_type
    started = now()
    message = contact_test_message(notification_id, channel, address, label=label)
    status, response, error = await _deliver(channels, message)
    finished = now()
    row = Notification(
        id=notification_id, key=f"test:{notification_id}", kind=TEST, user_id=user_id,
        contact_method_id=method_id, channel=channel, address=address, detail={"label": label},
        status=status, due_at=started, attempts=1, last_error=error, provider_response=response,
        sent_at=finished if status == SENT else None, created_at=started, updated_at=finished,
    )
    async with db.transaction() as session:
        session.add(row)
    return row
