"""Which addresses outbound requests may reach (tocsin.outbound.addresses): table cases, and
properties over every address Hypothesis draws."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.outbound.addresses import (
    NON_PUBLIC_V4,
    NON_PUBLIC_V6,
    allowed,
    is_public,
    non_public_reason,
    parse_network,
    parse_networks,
    permitted,
)

NOT_PUBLIC = [
    ("127.0.0.1", "loopback"), ("127.255.255.254", "loopback"), ("10.1.2.3", "private"),
    ("172.16.0.1", "private"), ("172.31.255.255", "private"), ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),  # the cloud metadata service
    ("100.64.0.1", "shared address space (CGNAT)"), ("0.0.0.0", "unspecified ('this network')"),
    ("224.0.0.1", "multicast"), ("255.255.255.255", "reserved (and broadcast)"),
    ("240.0.0.1", "reserved (and broadcast)"),
    ("192.0.2.10", "documentation (TEST-NET-1)"), ("198.18.0.1", "benchmarking"),
    ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"), ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"), ("ff02::1", "multicast"), ("2001:db8::1", "documentation"),
    ("fec0::1", "site-local (deprecated)"), ("::127.0.0.1", "IPv4-compatible (deprecated)"),
    ("4000::1", "reserved IPv6"), ("64:ff9b:1::1", "local-use NAT64"),
    # IPv6 forms carrying a non-public IPv4 address
    ("::ffff:127.0.0.1", "loopback, in an IPv6 form"), ("::ffff:10.0.0.1", "private, in an IPv6 form"),
    ("::ffff:169.254.169.254", "link-local, in an IPv6 form"), ("::ffff:0:192.168.0.1", "private, in an IPv6 form"),
    ("64:ff9b::127.0.0.1", "loopback, in an IPv6 form"), ("2002:7f00:1::1", "loopback, in an IPv6 form"),
    ("2002:a00:1::", "private, in an IPv6 form"),
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111",
          "2a00:1450:4001:82a::200e", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1"]


@pytest.mark.parametrize(("address", "reason"), NOT_PUBLIC)
def test_non_public_addresses_are_named(address: str, reason: str) -> None:
    assert non_public_reason(ip_address(address)) == reason
    assert not is_public(address)
    assert not permitted(address, ())


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address: str) -> None:
    assert non_public_reason(ip_address(address)) is None
    assert is_public(address) and permitted(address, ())


def test_allowed_networks_let_non_public_addresses_through() -> None:
    networks = parse_networks("127.0.0.0/8, 10.0.0.0/8")
    assert permitted("127.0.0.1", networks) and permitted("10.200.0.1", networks)
    assert permitted("::ffff:127.0.0.1", networks)  # the mapped form is the same host
    assert not permitted("192.168.0.1", networks) and not permitted("::1", networks)
    assert permitted("::1", parse_networks("::1/128"))
    assert allowed(ip_address("10.0.0.1"), networks) and not allowed("8.8.8.8", networks)


def test_parse_network_refuses_typos_with_the_meant_network() -> None:
    assert parse_network("10.0.0.0/8") == IPv4Network("10.0.0.0/8")
    assert parse_network(" 192.0.2.7 ") == IPv4Network("192.0.2.7/32")
    assert parse_network("2001:db8::/32") == IPv6Network("2001:db8::/32")
    with pytest.raises(ValueError, match=r"10\.0\.0\.1/8 has host bits set \(did you mean 10\.0\.0\.0/8\?\)"):
        parse_network("10.0.0.1/8")
    for bad in ("", "example.com", "10.0.0.0/33", "1.2.3"):
        with pytest.raises(ValueError, match=r"not an IP address or CIDR range|empty"):
            parse_network(bad)
    assert parse_networks(["10.0.0.0/8", IPv4Network("127.0.0.0/8"), " "]) == (
        IPv4Network("10.0.0.0/8"), IPv4Network("127.0.0.0/8"))


v4 = st.integers(0, 2**32 - 1).map(IPv4Address)
v6 = st.integers(0, 2**128 - 1).map(IPv6Address)


def _inside(table: tuple[tuple[IPv4Network | IPv6Network, str], ...]) -> st.SearchStrategy[str]:
    """An address drawn from inside one of the table's networks."""
    return st.sampled_from([net for net, _ in table]).flatmap(
        lambda net: st.integers(int(net.network_address), int(net.broadcast_address)).map(
            lambda n: str(ip_address(n) if net.version == 4 else IPv6Address(n))))


@given(_inside(NON_PUBLIC_V4))
def test_every_address_of_a_non_public_v4_range_is_refused(address: str) -> None:
    assert not is_public(address)
    # ... in each IPv6 form carrying it, too
    mapped, nat64 = f"::ffff:{address}", f"64:ff9b::{address}"
    sixtofour = IPv6Address((0x2002 << 112) | (int(IPv4Address(address)) << 80))
    assert not is_public(mapped) and not is_public(nat64) and not is_public(sixtofour)
    # ... unless its network is allowed, in either form
    network = ip_network(f"{address}/32")
    assert permitted(address, [network]) and permitted(mapped, [network])


@given(_inside(NON_PUBLIC_V6))
def test_every_address_of_a_non_public_v6_range_is_refused(address: str) -> None:
    assert not is_public(address)
    assert permitted(address, [ip_network(f"{address}/128")])


@given(v4)
def test_a_v4_address_and_its_mapped_form_get_one_verdict(address: IPv4Address) -> None:
    inside = any(address in net for net, _ in NON_PUBLIC_V4)
    assert is_public(address) is (not inside)
    assert is_public(f"::ffff:{address}") is is_public(address)


@given(v6)
def test_v6_outside_global_unicast_is_never_public_unless_it_carries_a_public_v4(address: IPv6Address) -> None:
    carried = address.ipv4_mapped or address.sixtofour
    if carried is None and address in IPv6Network("64:ff9b::/96"):
        carried = IPv4Address(int(address) & 0xFFFFFFFF)
    if carried is not None:
        assert is_public(address) is is_public(carried)
    elif address not in IPv6Network("2000::/3"):
        assert not is_public(address)


@given(st.lists(st.integers(0, 2**32 - 1).flatmap(
    lambda n: st.integers(8, 32).map(lambda p: IPv4Network((n >> (32 - p) << (32 - p), p)))), max_size=5), v4)
def test_allowed_is_membership_in_any_network(networks: list[IPv4Network], address: IPv4Address) -> None:
    assert allowed(address, networks) is any(address in n for n in networks)
    assert permitted(address, networks) is (allowed(address, networks) or is_public(address))
