"""Identifiers and secrets shaped like PagerDuty's.

Clients validate shapes: one popular CLI rejects ids outside ``^[PQ]\\w{6,13}$`` and the
official Python client picks ``Token`` vs ``Bearer`` auth by the key being 20 characters.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

ID_LENGTH = 13  # after the leading P: 65 bits of randomness, within the 6..13 clients accept
API_KEY_LENGTH = 20
_KEY_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789_-"


def new_id() -> str:
    # Base32 of random bytes: upper-case letters and 2-7, and cheap (ids are drawn per event).
    return "P" + base64.b32encode(secrets.token_bytes(10)).decode()[:ID_LENGTH]


def new_integration_key() -> str:
    """32 lower-case hex characters, as PagerDuty's routing keys are."""
    return secrets.token_hex(16)


def new_api_key() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(API_KEY_LENGTH))


def hash_secret(secret: str) -> str:
    """API keys are long random strings, so one SHA-256 is enough (no password stretching);
    the database only ever holds this digest."""
    return hashlib.sha256(secret.encode()).hexdigest()
