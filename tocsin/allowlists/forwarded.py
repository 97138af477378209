"""Who the client is, behind reverse proxies. Pure: no I/O.

``X-Forwarded-For`` is a list each proxy appends the address it received the request from to.
Anyone can send the header, so only the entries added by proxies the operator trusts
(``TOCSIN_TRUSTED_PROXIES``) mean anything: walking from the right (the hop nearest to Tocsin),
every entry written by a trusted proxy is skipped, and the first address that is not a trusted
proxy is the client. A request whose peer is not a trusted proxy is taken at its word: the peer
is the client, whatever the header says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from ipaddress import ip_address

from tocsin.allowlists.policy import Ranges
from tocsin.outbound.addresses import unmapped

HEADER = b"x-forwarded-for"


def forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """Every ``X-Forwarded-For`` entry, in order (several header lines read as one list)."""
    entries: list[str] = []
    for name, value in headers:
        if name == HEADER:
            entries.extend(e.strip() for e in value.decode("latin-1").split(",") if e.strip())
    return entries


@lru_cache(maxsize=4096)  # parsing costs microseconds; a proxy's clients repeat (bounded: addresses are cheap to vary)
def entry_address(entry: str) -> str | None:
    """The address of one entry (``203.0.113.7``, ``203.0.113.7:4711``, ``2001:db8::1``,
    ``[2001:db8::1]:4711``), normalised; None for anything else (``unknown``, names)."""
    text = entry.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        text = text.split(":", 1)[0]
    try:
        return str(unmapped(ip_address(text)))
    except ValueError:
        return None


def client_address(peer: str | None, forwarded: Sequence[str], trusted: Ranges) -> str | None:
    """The client's address: ``peer`` unless it is a trusted proxy, else the right-most
    ``forwarded`` entry that is not a trusted proxy (the left-most when all are). None when the
    client cannot be known: no peer, or a trusted hop handed on an entry that is not an address.
    """
    if peer is None or not trusted.holds(peer) or not forwarded:
        return peer
    for entry in reversed(forwarded):
        address = entry_address(entry)
        if address is None:
            return None
        if not trusted.holds(address):
            return address
    return entry_address(forwarded[0])
