"""Signed action links carried by notifications (pure: no I/O).

A link lets the person a message was sent to act on one incident without signing in: it names the
incident, the user and the action, expires, and is signed with the instance's secret
(HMAC-SHA256, compared in constant time). Following a link with GET never changes anything (mail
scanners follow every link); the page it opens has one button that POSTs the same token.

Token: ``<base64url(payload)>.<base64url(mac)>``; the payload is compact JSON
``{"i": incident, "u": user, "a": action, "e": expiry (unix seconds)}``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

ACKNOWLEDGE = "acknowledge"
RESOLVE = "resolve"
VOICE = "voice"  # a phone call's key presses: the digit decides (4 acknowledges, 6 resolves)
ACTIONS = frozenset({ACKNOWLEDGE, RESOLVE, VOICE})
# Long enough for a page sent at night to be acted on in the morning, short enough that an old
# mail leaks little; the incident's own state still decides what an action does.
LINK_LIFETIME = timedelta(hours=24)
ACTION_PATH = "/notification_actions"  # {base_url}/notification_actions/{token}
VOICE_PATH = "/twilio/voice"  # {base_url}/twilio/voice/{token}: where a call's Gather posts the key


@dataclass(frozen=True, slots=True)
class LinkClaim:
    incident_id: str
    user_id: str
    action: str
    expires_at: datetime
    bundle: str | None = None  # a bundled page's lead notification: the action is for all its incidents


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.lru_cache(maxsize=8)
def _keyed(secret: bytes) -> Any:
    """HMAC-SHA256 with the key set up, copied for each token (a page signs two links per
    incident: the key's two hash blocks once per secret, not per link)."""
    return hmac.new(secret, digestmod=hashlib.sha256)


def _mac(secret: bytes, payload: str) -> bytes:
    mac = _keyed(secret).copy()
    mac.update(payload.encode())
    return bytes(mac.digest())


def sign(secret: bytes, *, incident_id: str, user_id: str, action: str, expires_at: datetime,
         bundle: str | None = None) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown link action {action!r}")
    body: dict[str, str | int] = {"i": incident_id, "u": user_id, "a": action, "e": int(expires_at.timestamp())}
    if bundle is not None:
        body["b"] = bundle
    payload = _b64(orjson.dumps(body))  # compact JSON, as json.dumps with (",", ":") writes it
    return f"{payload}.{_b64(_mac(secret, payload))}"


def verify(secret: bytes, token: str, now: datetime) -> LinkClaim | None:
    """The claim of a genuine, unexpired token; None for anything else (never raises)."""
    payload, dot, mac = token.partition(".")
    if not dot or len(token) > 1024:
        return None
    try:
        given = _unb64(mac)
        if not hmac.compare_digest(given, _mac(secret, payload)):
            return None
        body = json.loads(_unb64(payload))
        claim = LinkClaim(str(body["i"]), str(body["u"]), str(body["a"]),
                          datetime.fromtimestamp(int(body["e"]), UTC), str(body["b"]) if "b" in body else None)
    except (ValueError, KeyError, TypeError):
        return None
    if claim.action not in ACTIONS or now >= claim.expires_at:
        return None
    return claim


def action_url(base_url: str, secret: bytes, *, incident_id: str, user_id: str, action: str,
               now: datetime, bundle: str | None = None) -> str:
    """The URL of an action link made at ``now`` (valid for ``LINK_LIFETIME``); ``bundle`` (a
    bundled page's lead notification): the action is for every open incident it named."""
    token = sign(secret, incident_id=incident_id, user_id=user_id, action=action, expires_at=now + LINK_LIFETIME,
                 bundle=bundle)
    return f"{base_url.rstrip('/')}{ACTION_PATH}/{token}"


def voice_url(base_url: str, secret: bytes, *, incident_id: str, user_id: str, now: datetime,
              bundle: str | None = None) -> str:
    """Where a phone call's Gather posts the key pressed (``Message.voice_callback_url``): a VOICE
    token bound to the incident (or a bundle's lead notification: all its incidents) and the
    user, valid for ``LINK_LIFETIME``."""
    token = sign(secret, incident_id=incident_id, user_id=user_id, action=VOICE, expires_at=now + LINK_LIFETIME,
                 bundle=bundle)
    return f"{base_url.rstrip('/')}{VOICE_PATH}/{token}"


def is_genuine(secret: bytes, token: str) -> bool:
    """Was the token signed with ``secret`` (expired or not)? Tells an expired link (410) from a
    broken one (404); only ``verify`` grants anything."""
    return verify(secret, token, datetime.min.replace(tzinfo=UTC)) is not None
