"""Set-password emails (invitations and password resets), sent at once through the instance's
email channel (``tocsin.notifications``' SMTP channel: the same settings, connection pool and
message composer as pages).

Why not a ``notifications`` row for the engine's notify step: those rows are pages to a contact
method, retried for minutes and kept as history, while this message carries a secret link that
must not be stored anywhere, goes to the account's own address (which may have no contact method
yet), and is wanted now by a person watching the screen — who is told at once if it failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlencode

from tocsin.db.session import Database
from tocsin.ids import new_id
from tocsin.notifications.channel import Channel, ChannelError, Message
from tocsin.notifications.models import EMAIL
from tocsin.ui import accounts
from tocsin.ui.models import INVITATION

SET_PATH = "/ui/password/set"

log = logging.getLogger(__name__)


def link_message(address: str, name: str, purpose: str, url: str, lifetime: str) -> Message:
    if purpose == INVITATION:
        subject = "You are invited to Tocsin"
        text = (f"Hello {name},\n\nYou have an account on Tocsin, the incident response service. Choose your "
                f"password here to sign in:\n\n{url}\n\nThe link works once, for {lifetime}.\n")
    else:
        subject = "Reset your Tocsin password"
        text = (f"Hello {name},\n\nSomeone (hopefully you) asked to reset your Tocsin password. Choose a new "
                f"one here:\n\n{url}\n\nThe link works once, for {lifetime}. If you did not ask, ignore this "
                f"email: your password stays as it is.\n")
    return Message(notification_id=new_id(), channel=EMAIL, address=address, subject=subject, text=text)


async def send(channel: Channel, message: Message) -> str | None:
    """Send now; None when the server accepted it, else why not (never the link itself)."""
    try:
        await channel.send(message)
    except ChannelError as exc:
        log.warning("set-password email to %s not sent: %s", message.address, exc)
        return str(exc)
    return None


def lifetime_text(purpose: str) -> str:
    hours = accounts.LINK_LIFETIME[purpose] / timedelta(hours=1)
    return f"{int(hours // 24)} days" if hours >= 48 else f"{int(hours)} hour{'s' if hours != 1 else ''}"


async def send_link(db: Database, now: Callable[[], datetime], base_url: str, channel: Channel,
                    user: tuple[str, str, str], purpose: str) -> str | None:
    """Make a set-password link for ``user`` (id, email, name) and email it; None when sent,
    else why not. The link is made (and any older one of the purpose ended) either way."""
    user_id, email, name = user
    async with db.transaction() as session:
        token = await accounts.create_link(session, user_id, purpose, now())
    url = f"{base_url}{SET_PATH}?{urlencode({'purpose': purpose, 'token': token})}"
    return await send(channel, link_message(email, name, purpose, url, lifetime_text(purpose)))
