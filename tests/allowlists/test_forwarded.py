"""Whom X-Forwarded-For is believed about (tocsin.allowlists.forwarded), pure."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_network

from hypothesis import given
from hypothesis import strategies as st

from tocsin.allowlists.forwarded import client_address, entry_address, forwarded_for
from tocsin.allowlists.policy import Ranges

PROXIES = Ranges([ip_network("10.0.0.0/24"), ip_network("fd00::/64")])


def test_an_untrusted_peer_is_the_client_whatever_it_claims() -> None:
    assert client_address("203.0.113.5", ["198.51.100.1"], PROXIES) == "203.0.113.5"
    assert client_address("10.0.1.1", ["198.51.100.1"], PROXIES) == "10.0.1.1"  # just outside the proxy range


def test_a_trusted_proxy_names_the_client() -> None:
    assert client_address("10.0.0.2", ["198.51.100.1"], PROXIES) == "198.51.100.1"
    assert client_address("10.0.0.2", [], PROXIES) == "10.0.0.2"  # no header: the proxy itself asks
    # a chain: the right-most address that is not a trusted proxy; what the client wrote further
    # left (a spoofed "1.2.3.4") is never reached
    assert client_address("10.0.0.2", ["1.2.3.4", "198.51.100.1", "10.0.0.9"], PROXIES) == "198.51.100.1"
    assert client_address("fd00::2", ["[2001:db8::7]:4711"], PROXIES) == "2001:db8::7"
    # every hop trusted: the left-most is as far as anyone can see
    assert client_address("10.0.0.2", ["10.0.0.7", "10.0.0.8"], PROXIES) == "10.0.0.7"


def test_garbage_from_a_trusted_hop_makes_the_client_unknown() -> None:
    assert client_address("10.0.0.2", ["unknown"], PROXIES) is None
    assert client_address("10.0.0.2", ["198.51.100.1", "not-an-ip", "10.0.0.3"], PROXIES) is None
    assert client_address(None, ["198.51.100.1"], PROXIES) is None


def test_entries_and_header_lines() -> None:
    assert entry_address("203.0.113.7:8080") == "203.0.113.7"
    assert entry_address(" ::ffff:203.0.113.7 ") == "203.0.113.7"
    assert entry_address("2001:db8::1") == "2001:db8::1" and entry_address("[2001:db8::1]") == "2001:db8::1"
    assert entry_address("_hidden") is None and entry_address("example.com") is None
    headers = [(b"x-forwarded-for", b"1.1.1.1, 2.2.2.2"), (b"host", b"x"), (b"x-forwarded-for", b" ,3.3.3.3")]
    assert forwarded_for(headers) == ["1.1.1.1", "2.2.2.2", "3.3.3.3"]


ips = st.integers(0, 2**32 - 1).map(lambda n: str(IPv4Address(n)))
proxy_ips = st.integers(0, 255).map(lambda n: f"10.0.0.{n}")


@given(ips.filter(lambda a: not PROXIES.holds(a)), st.lists(st.one_of(ips, proxy_ips, st.just("junk")), max_size=6))
def test_never_believed_from_an_untrusted_peer(peer: str, chain: list[str]) -> None:
    assert client_address(peer, chain, PROXIES) == peer


@given(proxy_ips, st.lists(st.one_of(ips, proxy_ips), min_size=1, max_size=6))
def test_the_answer_is_the_right_most_untrusted_entry(peer: str, chain: list[str]) -> None:
    found = client_address(peer, chain, PROXIES)
    untrusted = [a for a in chain if not PROXIES.holds(a)]
    if untrusted:
        assert found == untrusted[-1]
        # and every entry to its right is a trusted proxy
        assert all(PROXIES.holds(a) for a in chain[len(chain) - 1 - chain[::-1].index(found) + 1:])
    else:
        assert found == chain[0]
