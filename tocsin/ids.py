"""Identifiers and secrets shaped like PagerDuty's.

Clients validate shapes: one popular CLI rejects ids outside ``^[PQ]\\w{6,13}$`` and the
official Python client picks ``Token`` vs ``Bearer`` auth by the key being 20 characters.
"""

from __future__ import annotations

import hashlib
import secrets

_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I/O/0/1: readable when spoken at 3 a.m.
ID_LENGTH = 13  # after the leading P: 65 bits of randomness, within the 6..13 clients accept
API_KEY_LENGTH = 20
_KEY_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789_-"


def new_id() -> str:
    return "P" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))


def new_integration_key() -> str:
    """32 lower-case hex characters, as PagerDuty's routing keys are."""
    return secrets.token_hex(16)


def new_api_key() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(API_KEY_LENGTH))


def hash_secret(secret: str) -> str:
    """API keys are long random strings, so one SHA-256 is enough (no password stretching);
    the database only ever holds this digest."""
    return hashlib.sha256(secret.encode()).hexdigest()
