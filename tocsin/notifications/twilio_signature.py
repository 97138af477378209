"""Twilio's webhook signature (``X-Twilio-Signature``), computed and checked. Pure: no I/O.

Twilio signs every webhook request with HMAC-SHA1 keyed by the account's auth token, over the
full URL it requested followed by each POST parameter as name + value, the names sorted (a name
sent more than once: each of its distinct values, sorted). The header is the digest in base64.

Twilio's own validators accept the URL with and without the scheme's default port, because
whether the port appears in what Twilio signed depends on how the webhook URL was configured;
this verifier does the same (only the default port: the URL is the one Tocsin publishes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

HEADER = "X-Twilio-Signature"
_DEFAULT_PORTS = {"https": 443, "http": 80}


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The base64 HMAC-SHA1 Twilio sends for a POST of ``params`` to ``url``."""
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    """``url`` as given, without its default port, and with the default port added."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: only the URL as given can match
        return [url]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.username is not None:
        return [url]  # Twilio never signs credentials in the URL; nothing to vary
    if port is None:
        return [url, urlunsplit(parts._replace(netloc=f"{host}:{default}"))]
    if port == default:
        return [url, urlunsplit(parts._replace(netloc=host))]
    return [url]


def is_valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], given: str | None) -> bool:
    """Does ``given`` (the header's value) sign this request? Compared in constant time; an empty
    token or header never validates."""
    if not auth_token or not given:
        return False
    pairs = list(params)
    expected_given = given.encode()
    found = False
    for candidate in _port_variants(url):
        # Every variant is compared (no early exit), so the time taken says nothing about which matched.
        found |= hmac.compare_digest(signature(auth_token, candidate, pairs).encode(), expected_given)
    return found
