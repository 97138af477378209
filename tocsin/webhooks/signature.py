"""PagerDuty's v3 webhook signature (pure: no I/O).

``X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body, keyed by the subscription's
secret>``; while a rotated secret's grace period runs, one ``v1=`` value per secret, comma
separated (newest first). A receiver accepts the body when any value matches a secret it holds,
compared in constant time (``verify``: the helper tests and receivers use).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

SCHEME = "v1="


def signature(body: bytes, secret: str) -> str:
    """One ``v1=<hex>`` value."""
    return SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_header(body: bytes, secrets: Sequence[str]) -> str:
    """The header's value: one signature per secret, comma separated, in the order given."""
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    return ",".join(signature(body, secret) for secret in secrets)


def signatures(header: str) -> list[str]:
    """The ``v1=`` values of a header (other schemes and blanks left out)."""
    return [part.strip() for part in header.split(",") if part.strip().startswith(SCHEME)]


def verify(body: bytes, header: str, secrets: Iterable[str]) -> bool:
    """Does any ``v1=`` value of ``header`` sign ``body`` with any of ``secrets``? Every
    comparison runs in constant time (``hmac.compare_digest``), and all of them run."""
    offered = signatures(header)
    matched = False
    for secret in secrets:
        expected = signature(body, secret).encode()
        for value in offered:
            matched |= hmac.compare_digest(expected, value.encode())
    return matched
