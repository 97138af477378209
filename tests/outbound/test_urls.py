"""Receiver URLs checked when they are saved (tocsin.outbound.urls)."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tocsin.errors import InvalidInput
from tocsin.outbound.addresses import Network, parse_networks
from tocsin.outbound.urls import check_url, legacy_ipv4

LOCAL = parse_networks("127.0.0.0/8")


def refusal(url: str, networks: tuple[Network, ...] = ()) -> str:
    with pytest.raises(InvalidInput) as caught:
        check_url(url, networks)
    [error] = caught.value.errors
    assert error.startswith("url: ")
    return error


@pytest.mark.parametrize("url", [
    "https://hooks.example.com/tocsin", "http://example.com:8080/x?y=1", " https://example.com/ ",
    "https://8.8.8.8/hook", "https://[2606:4700:4700::1111]/hook", "https://user:pw@example.com/",
])
def test_public_http_urls_pass(url: str) -> None:
    assert check_url(url) == url.strip()


@pytest.mark.parametrize(("url", "fragment"), [
    ("ftp://example.com/", "must be an http or https URL"),
    ("file:///etc/passwd", "must be an http or https URL"),
    ("gopher://127.0.0.1:6379/_INFO", "must be an http or https URL"),
    ("example.com/hook", "must be an http or https URL"),
    ("https:///path", "must name a host"),
    ("", "must not be empty"),
    ("https://exa mple.com/", "spaces or control characters"),
    ("https://example.com:99999/", "is not a valid URL"),
    ("http://[::1/", "is not a valid URL"),
    ("http://" + "a" * 2050 + ".com/", "at most 2048 characters"),
])
def test_malformed_urls_are_refused(url: str, fragment: str) -> None:
    assert fragment in refusal(url)


@pytest.mark.parametrize(("url", "shown"), [
    ("http://127.0.0.1:8080/", "127.0.0.1 (loopback)"),
    ("http://10.0.0.5/hook", "10.0.0.5 (private)"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 (link-local)"),
    ("http://[::1]/", "::1 (loopback)"),
    ("http://[fd00::5]/", "fd00::5 (unique-local)"),
    ("http://[::ffff:127.0.0.1]/", "(loopback, in an IPv6 form)"),
    ("http://[fe80::1%25eth0]/", "(link-local)"),
    # legacy IPv4 spellings getaddrinfo would resolve to loopback
    ("http://127.1/", "127.0.0.1 (loopback)"),
    ("http://2130706433/", "127.0.0.1 (loopback)"),
    ("http://0x7f.0.0.1/", "127.0.0.1 (loopback)"),
    ("http://0177.0.0.1/", "127.0.0.1 (loopback)"),
    ("http://127.0.0.1./", "127.0.0.1 (loopback)"),
    ("http://example.com@10.1.1.1/", "10.1.1.1 (private)"),
])
def test_non_public_literal_hosts_are_refused_unless_allowed(url: str, shown: str) -> None:
    error = refusal(url)
    assert shown in error and "TOCSIN_WEBHOOK_ALLOWED_NETWORKS" in error
    everything = parse_networks("0.0.0.0/1,128.0.0.0/1,::/1,8000::/1")
    assert check_url(url, everything) == url


def test_localhost_names_are_loopback() -> None:
    for url in ("http://localhost:9000/", "http://LOCALHOST/", "http://api.localhost/"):
        assert "which is loopback" in refusal(url)
        assert check_url(url, LOCAL) == url


def test_the_field_name_is_in_the_message() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_url("ftp://x", field="webhook_subscription.delivery_method.url")
    assert caught.value.errors == ["webhook_subscription.delivery_method.url: must be an http or https URL"]


def _aton(text: str) -> str | None:
    try:
        return socket.inet_ntoa(socket.inet_aton(text))
    except OSError:
        return None


part = st.integers(0, 2**32 - 1).flatmap(lambda n: st.sampled_from([str(n), f"0{n:o}", f"0x{n:x}", f"0X{n:X}"]))


@given(st.lists(part, min_size=1, max_size=4))
def test_legacy_ipv4_reads_hosts_as_inet_aton_does(parts: list[str]) -> None:
    text = ".".join(parts)
    found = legacy_ipv4(text)
    assert (str(found) if found is not None else None) == _aton(text)


@given(st.integers(0, 2**32 - 1))
def test_every_spelling_of_an_address_reads_back_to_it(value: int) -> None:
    address = IPv4Address(value)
    a, b, c, d = address.packed
    for text in (str(value), hex(value), f"0{value:o}", f"{a}.{(b << 16) | (c << 8) | d}",
                 f"{a}.{b}.{(c << 8) | d}", f"0x{a:x}.{b}.0{c:o}.{d}"):
        assert legacy_ipv4(text) == address, text


@given(st.text(min_size=1, max_size=20))
def test_anything_inet_aton_refuses_is_a_name(text: str) -> None:
    assume(not text.endswith("."))  # legacy_ipv4 reads one trailing dot; inet_aton does not
    assume("\x00" not in text)
    if _aton(text) is None:
        assert legacy_ipv4(text) is None
