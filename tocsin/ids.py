"""Identifiers and secrets shaped like PagerDuty's.

Clients validate shapes: one popular CLI rejects ids outside ``^[PQ]\\w{6,13}$`` and the
official Python client picks ``Token`` vs ``Bearer`` auth by the key being 20 characters.
"""

from __future__ import annotations

import hashlib
import secrets

ID_LENGTH = 13  # after the leading P: 65 bits of randomness, within the 6..13 clients accept
API_KEY_LENGTH = 20
_KEY_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789_-"


# Each random byte picks one of 32 characters (256 is a multiple of 32: every character equally
# likely, 5 bits each): the base32 alphabet, upper-case letters and 2-7.
_ID_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ID_CHARACTERS = bytes(_ID_ALPHABET[b % 32] for b in range(256))


def new_id() -> str:
    # One C call per step (bytes.translate) rather than base64's pure-Python base32: ids are drawn
    # per event, per log entry and per notification, tens of thousands a second in a storm.
    return "P" + secrets.token_bytes(ID_LENGTH).translate(_ID_CHARACTERS).decode()


def new_integration_key() -> str:
    """32 lower-case hex characters, as PagerDuty's routing keys are."""
    return secrets.token_hex(16)


def new_api_key() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(API_KEY_LENGTH))


def hash_secret(secret: str) -> str:
    """API keys are long random strings, so one SHA-256 is enough (no password stretching);
    the database only ever holds this digest."""
    return hashlib.sha256(secret.encode()).hexdigest()
