"""Checking a receiver URL when it is saved. Pure: no I/O (names are not resolved here).

This catches mistakes early, with a 400 naming the problem. It is not the protection itself: a
name is only resolved when a request is sent, and ``transport.GuardedTransport`` checks the
address it connects to then (a name may point elsewhere by the time a webhook fires).

Hosts written as IPv4 in the legacy forms C's ``inet_aton`` (and so ``getaddrinfo``) accepts —
``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``0177.0.0.1`` — are read as the address they mean,
so they cannot slip past as "names".
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address
from urllib.parse import urlsplit

from tocsin.errors import InvalidInput
from tocsin.outbound.addresses import Address, Network, allowed, non_public_reason, parse_address

SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2048
# RFC 6761: "localhost" and every name under it are loopback, whatever DNS says.
_LOOPBACK_NAMES = ("localhost",)
_LOOPBACK_ADDRESSES = (parse_address("127.0.0.1"), parse_address("::1"))


def legacy_ipv4(host: str) -> IPv4Address | None:
    """The address of a host written the way ``inet_aton`` reads it (1 to 4 dot-separated parts,
    each decimal, octal with a leading 0 or hex with 0x; the last part fills the remaining
    bytes), or None when ``host`` is not such a number."""
    parts = host.split(".")
    if host.endswith(".") and len(parts) > 1:  # a trailing dot is allowed once: "127.0.0.1."
        parts = parts[:-1]
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        value = _number(part)
        if value is None:
            return None
        values.append(value)
    *leading, last = values
    if any(v > 0xFF for v in leading) or last >= 1 << (8 * (5 - len(values))):
        return None
    total = 0
    for v in leading:
        total = total << 8 | v
    return IPv4Address(total << (8 * (4 - len(values) + 1)) | last if leading else last)


_DIGITS = {16: frozenset("0123456789abcdef"), 8: frozenset("01234567"), 10: frozenset("0123456789")}


def _number(part: str) -> int | None:
    # Each character checked: int() alone would also take "_", spaces, signs and non-ASCII digits.
    lowered = part.lower()
    if lowered.startswith("0x"):
        base, digits = 16, lowered[2:]
    elif len(part) > 1 and part.startswith("0"):
        base, digits = 8, part[1:]
    else:
        base, digits = 10, part
    if not digits or not set(digits) <= _DIGITS[base]:
        return None
    return int(digits, base)


def host_address(host: str) -> Address | None:
    """The address a URL's host is written as (IPv6 without brackets here), or None for a name."""
    try:
        return parse_address(host)
    except ValueError:
        return legacy_ipv4(host)


def check_url(url: str, allowed_networks: Iterable[Network] = (), field: str = "url") -> str:
    """``url`` stripped, when it may be saved as a receiver; InvalidInput naming ``field`` otherwise.

    Refused: schemes other than http and https, no host, a bad port, spaces or control
    characters, and hosts that are a non-public address (or ``localhost``) unless
    ``allowed_networks`` (TOCSIN_WEBHOOK_ALLOWED_NETWORKS) holds it.
    """
    networks = tuple(allowed_networks)
    problem = _problem(url.strip(), networks)
    if problem is not None:
        raise InvalidInput(errors=[f"{field}: {problem}"])
    return url.strip()


def _problem(url: str, networks: tuple[Network, ...]) -> str | None:
    if not url:
        return "must not be empty"
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it validates it (ValueError when out of range or not a number)
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme.lower() not in SCHEMES:
        return "must be an http or https URL"
    host = (parts.hostname or "").rstrip(".")  # "127.0.0.1." is 127.0.0.1
    if not host:
        return "must name a host"
    address = host_address(host)
    if address is None:
        loopback = host.lower() in _LOOPBACK_NAMES or host.lower().endswith(".localhost")
        if loopback and not any(allowed(a, networks) for a in _LOOPBACK_ADDRESSES):
            return (f"names {host}, which is loopback; receivers on this machine need "
                    "TOCSIN_WEBHOOK_ALLOWED_NETWORKS to allow 127.0.0.0/8")
        return None
    reason = non_public_reason(address)
    if reason is not None and not allowed(address, networks):
        return (f"points at {address} ({reason}), which is not a public address; Tocsin delivers only to public "
                "addresses unless TOCSIN_WEBHOOK_ALLOWED_NETWORKS allows the network")
    return None
