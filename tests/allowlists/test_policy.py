"""The compiled allow-list decision (tocsin.allowlists.policy), pure."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from hypothesis import given
from hypothesis import strategies as st

from tocsin.allowlists.policy import (
    CACHE_LIMIT,
    EVENTS_API,
    OPEN,
    REST_API,
    ListRule,
    Ranges,
    compile_policy,
)
from tocsin.outbound.addresses import Network, unmapped


def rule(*cidrs: str, applies_to: tuple[str, ...] = (REST_API,), enabled: bool = True) -> ListRule:
    return ListRule(enabled, frozenset(applies_to), tuple(ip_network(c) for c in cidrs))


def test_no_enabled_list_leaves_a_surface_open() -> None:
    assert OPEN.admits(REST_API, "203.0.113.9") and OPEN.admits(EVENTS_API, None)
    policy = compile_policy([rule("10.0.0.0/8", enabled=False), rule("192.0.2.0/24", applies_to=(EVENTS_API,))])
    assert policy.rest_api is None and policy.admits(REST_API, "198.51.100.1")
    assert policy.admits(EVENTS_API, "192.0.2.77") and not policy.admits(EVENTS_API, "192.0.3.1")


def test_an_enabled_list_admits_only_its_ranges_and_never_an_unknown_address() -> None:
    policy = compile_policy([rule("10.0.0.0/8", "2001:db8::/32", applies_to=(REST_API, EVENTS_API))])
    for surface in (REST_API, EVENTS_API):
        assert policy.admits(surface, "10.20.30.40") and policy.admits(surface, "2001:db8::5")
        assert policy.admits(surface, "::ffff:10.0.0.1")  # the IPv4-mapped form of an admitted address
        assert not policy.admits(surface, "11.0.0.1") and not policy.admits(surface, "2001:db9::1")
        assert not policy.admits(surface, None) and not policy.admits(surface, "testclient")


def test_lists_on_one_surface_add_up() -> None:
    policy = compile_policy([rule("10.0.0.0/8"), rule("192.0.2.0/24")])
    assert policy.admits(REST_API, "10.0.0.1") and policy.admits(REST_API, "192.0.2.1")
    assert not policy.admits(REST_API, "172.16.0.1")


def test_the_address_cache_stays_bounded() -> None:
    ranges = Ranges([ip_network("10.0.0.0/8")])
    for i in range(CACHE_LIMIT + 10):
        assert ranges.holds(str(IPv6Address(i))) is False
    assert len(ranges._cache) <= CACHE_LIMIT
    assert ranges.holds("10.1.1.1") and ranges.holds("10.1.1.1")  # a hit answers like a miss


def test_an_ipv4_mapped_client_is_held_by_either_form() -> None:
    assert Ranges([ip_network("192.0.2.0/24")]).holds("::ffff:192.0.2.9")
    assert Ranges([ip_network("::ffff:0:0/96")]).holds("::ffff:192.0.2.9")
    assert not Ranges([ip_network("192.0.2.0/24")]).holds("64:ff9b::192.0.2.9")  # NAT64 is another host


v4_networks = st.integers(0, 2**32 - 1).flatmap(
    lambda n: st.integers(0, 32).map(lambda p: IPv4Network((n >> (32 - p) << (32 - p), p))))
v6_networks = st.integers(0, 2**128 - 1).flatmap(
    lambda n: st.integers(0, 128).map(lambda p: IPv6Network((n >> (128 - p) << (128 - p), p))))
networks = st.lists(st.one_of(v4_networks, v6_networks), max_size=12)
addresses = st.one_of(st.integers(0, 2**32 - 1).map(lambda n: str(ip_address(n))),
                      st.integers(0, 2**128 - 1).map(lambda n: str(IPv6Address(n))))


@given(networks, st.lists(addresses, max_size=20))
def test_ranges_agree_with_checking_every_network(nets: list[Network], probes: list[str]) -> None:
    ranges = Ranges(nets)
    for address in probes + [str(n.network_address) for n in nets] + [str(n.broadcast_address) for n in nets]:
        forms = {ip_address(address), unmapped(ip_address(address))}  # ::ffff:a.b.c.d is a.b.c.d too
        expected = any(form in n for n in nets for form in forms if n.version == form.version)
        assert ranges.holds(address) is expected, (address, nets)


@given(networks, addresses)
def test_a_surface_admits_what_its_enabled_lists_hold(nets: list[Network], address: str) -> None:
    policy = compile_policy([ListRule(True, frozenset({EVENTS_API}), tuple(nets))])
    assert policy.admits(EVENTS_API, address) is Ranges(nets).holds(address)
    assert policy.admits(REST_API, address)
