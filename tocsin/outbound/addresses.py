"""Which addresses an outbound request may reach, and CIDR parsing. Pure: no I/O.

"Public" is decided from an explicit table (IANA's special-purpose address registries), not from
``ipaddress``'s ``is_global``, whose answers changed between Python releases: the verdict must
not move under an upgrade. IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``,
the translated ``::ffff:0:a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d``, 6to4 ``2002:AABB:CCDD::``) are
judged by the IPv4 address inside: a DNS AAAA record of ``::ffff:127.0.0.1`` reaches loopback on
a dual-stack host. Any other IPv6 address outside global unicast (``2000::/3``) is refused too.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


def _table(rows: Iterable[tuple[str, str]]) -> tuple[tuple[Network, str], ...]:
    return tuple((ip_network(cidr), why) for cidr, why in rows)


# Checked in order: the first match names the reason.
NON_PUBLIC_V4 = _table((
    ("0.0.0.0/8", "unspecified ('this network')"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.88.99.0/24", "6to4 relay anycast (deprecated)"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved (and broadcast)"),
))
NON_PUBLIC_V6 = _table((
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible (deprecated)"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001:db8::/32", "documentation"),
    ("2001::/23", "IETF protocol assignments"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
))
GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
# IPv6 ranges whose low 32 bits are an IPv4 address (the mapped form has ipaddress's ipv4_mapped).
_EMBEDDING_V4 = (IPv6Network("64:ff9b::/96"), IPv6Network("::ffff:0:0:0/96"))


def parse_address(text: str) -> Address:
    """An address from text, brackets around IPv6 allowed (``[::1]``); ValueError otherwise."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return ip_address(text)


def embedded_v4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, translated, NAT64, 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in net for net in _EMBEDDING_V4):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def unmapped(address: Address) -> Address:
    """``::ffff:a.b.c.d`` is the IPv4 host a.b.c.d; every other address is itself."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def non_public_reason(address: Address) -> str | None:
    """Why ``address`` is not on the public internet ("loopback", "private" ...), or None."""
    if isinstance(address, IPv4Address):
        return next((why for net, why in NON_PUBLIC_V4 if address in net), None)
    inner = embedded_v4(address)
    if inner is not None:
        reason = non_public_reason(inner)
        return f"{reason}, in an IPv6 form" if reason is not None else None
    reason = next((why for net, why in NON_PUBLIC_V6 if address in net), None)
    if reason is None and address not in GLOBAL_UNICAST_V6:
        reason = "reserved IPv6"
    return reason


def is_public(address: Address | str) -> bool:
    """True for addresses on the public internet; False for loopback, private, link-local,
    CGNAT, multicast, reserved, documentation, unspecified ... and IPv6 forms of those."""
    if isinstance(address, str):
        address = parse_address(address)
    return non_public_reason(address) is None


def allowed(address: Address | str, networks: Iterable[Network]) -> bool:
    """Whether an operator-allowed network holds ``address`` (an IPv4-mapped IPv6 address is
    matched as the IPv4 address it is, so ``127.0.0.0/8`` allows ``::ffff:127.0.0.1``)."""
    if isinstance(address, str):
        address = parse_address(address)
    plain = unmapped(address)
    return any(candidate in net for net in networks for candidate in {address, plain}
               if candidate.version == net.version)


def permitted(address: Address | str, networks: Iterable[Network]) -> bool:
    """May an outbound request connect to ``address``: public, or in an allowed network."""
    if isinstance(address, str):
        address = parse_address(address)
    return allowed(address, networks) or is_public(address)


def parse_network(text: str) -> Network:
    """A CIDR (``10.0.0.0/8``, ``2001:db8::/32``) or one address (a /32 or /128).

    ValueError with a message meant for people: host bits set is refused (``10.0.0.1/8`` is
    almost always a typo), naming the network that was probably meant.
    """
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("an empty value is not a network")
    try:
        return ip_network(cleaned, strict=True)
    except ValueError:
        try:
            loose = ip_network(cleaned, strict=False)
        except ValueError:
            raise ValueError(f"{cleaned!r} is not an IP address or CIDR range") from None
        raise ValueError(f"{cleaned} has host bits set (did you mean {loose}?)") from None


def parse_networks(value: str | Iterable[str | Network]) -> tuple[Network, ...]:
    """Comma-separated CIDRs (``127.0.0.0/8,10.0.0.0/8``) or a list of them; blanks ignored."""
    items = value.split(",") if isinstance(value, str) else value
    out: list[Network] = []
    for item in items:
        if isinstance(item, IPv4Network | IPv6Network):
            out.append(item)
        elif item.strip():
            out.append(parse_network(item))
    return tuple(out)
