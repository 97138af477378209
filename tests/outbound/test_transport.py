"""SSRF proof: the outbound client against real receivers on loopback.

Refused unless allowed: loopback, private, link-local, IPv4-mapped IPv6, and names resolving to
them (``localhost`` through /etc/hosts, others through the resolver seam) — checked at send time,
on the address connected to. Allowed networks reach a real receiver with the URL's Host header
and TLS name kept. Redirects are answered, never followed.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import httpcore
import httpx
import pytest

from tests.certificates import Certificate, make_certificate
from tests.outbound.receivers import receiving
from tocsin.config import Settings
from tocsin.outbound.addresses import parse_networks
from tocsin.outbound.client import outbound_client
from tocsin.outbound.refusal import DestinationRefused
from tocsin.outbound.resolver import Resolver, system_resolver
from tocsin.outbound.transport import GuardedTransport
from tocsin.outbound.urls import check_url

LOCAL = "127.0.0.0/8"


def resolving(mapping: Mapping[str, Sequence[str]]) -> Resolver:
    """A resolver answering from ``mapping`` (the seam a test points at made-up names)."""
    async def resolve(host: str) -> Sequence[str]:
        if host not in mapping:
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: no such name in the test mapping")
        return mapping[host]

    return resolve


class CountingBackend(httpcore.AsyncNetworkBackend):
    """The real backend, counting every connection attempt (so a refusal can be shown to open none)."""

    def __init__(self, connect_to: str | None = None) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.attempts: list[str] = []
        self.connect_to = connect_to  # connect somewhere else than asked (to test the peer check)

    async def connect_tcp(  # httpcore's interface names the parameter "timeout"
        self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.attempts.append(host)
        return await self.inner.connect_tcp(self.connect_to or host, port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def client(allowed: str = "", mapping: Mapping[str, Sequence[str]] | None = None,
           verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    settings = Settings(webhook_allowed_networks=parse_networks(allowed))
    if mapping is None:
        return outbound_client(settings, timeout=5, verify=verify)  # the system resolver: /etc/hosts, DNS
    return outbound_client(settings, timeout=5, verify=verify, resolver=resolving(mapping))


def counting_client(backend: CountingBackend, allowed: str = "",
                    mapping: Mapping[str, Sequence[str]] | None = None) -> httpx.AsyncClient:
    transport = GuardedTransport(parse_networks(allowed), inner_backend=backend,
                                 resolver=resolving(mapping) if mapping is not None else system_resolver)
    return httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False, timeout=5)


async def test_loopback_receiver_is_refused_unless_allowed_then_reached() -> None:
    async with receiving() as receiver:
        for url in (receiver.url(), receiver.url("localhost"), receiver.url("[::ffff:127.0.0.1]"),
                    receiver.url("127.1"), receiver.url("2130706433")):
            async with client() as c:
                with pytest.raises(DestinationRefused, match=r"(127\.0\.0\.1|7f00:1) \(loopback") as caught:
                    await c.post(url, json={"n": 1})
            assert str(caught.value.request.url) == url  # httpx hands the request over, as for any send error
        assert receiver.seen == []  # nothing reached it

        async with client(LOCAL) as c:
            r = await c.post(receiver.url(), json={"n": 2})
            by_name = await c.post(receiver.url("localhost"), json={"n": 3})
        assert r.status_code == 200 and by_name.status_code == 200
        assert [s.body for s in receiver.seen] == [b'{"n":2}', b'{"n":3}']
        hosts = [s.headers["host"] for s in receiver.seen]
        assert hosts == [f"127.0.0.1:{receiver.port}", f"localhost:{receiver.port}"]


async def test_ipv6_loopback_is_refused_unless_allowed() -> None:
    try:
        receiver_cm = receiving("::1")
        receiver = await receiver_cm.__aenter__()
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        async with client(LOCAL) as c:  # 127.0.0.0/8 does not cover ::1
            with pytest.raises(DestinationRefused, match=r"::1 \(loopback\)"):
                await c.get(receiver.url())
        assert receiver.seen == []
        async with client("::1/128") as c:
            assert (await c.get(receiver.url())).status_code == 200
        assert len(receiver.seen) == 1
    finally:
        await receiver_cm.__aexit__(None, None, None)


@pytest.mark.parametrize(("answer", "reason"), [
    (["10.0.0.7"], "private"), (["192.168.1.20"], "private"), (["172.20.0.1"], "private"),
    (["169.254.169.254"], "link-local"), (["fe80::1"], "link-local"), (["127.0.0.1"], "loopback"),
    (["::ffff:127.0.0.1"], "loopback, in an IPv6 form"), (["::ffff:169.254.169.254"], "link-local, in an IPv6 form"),
    (["fd00::1"], "unique-local"), (["100.64.1.1"], "CGNAT"), (["0.0.0.0"], "unspecified"),
    # every address is checked, not only the first: one bad answer refuses the whole name
    (["93.184.216.34", "10.0.0.7"], "private"), (["2606:4700::1", "::1"], "loopback"),
])
async def test_names_resolving_to_non_public_addresses_are_refused_before_connecting(
        answer: list[str], reason: str) -> None:
    backend = CountingBackend()
    async with counting_client(backend, mapping={"hooks.example.test": answer}) as c:
        with pytest.raises(DestinationRefused, match=rf"hooks\.example\.test: it resolves to .* \({reason}") as caught:
            await c.post("https://hooks.example.test/hook", json={})
    assert backend.attempts == []
    assert caught.value.host == "hooks.example.test" and caught.value.address is not None


async def test_a_name_saved_while_public_is_refused_when_it_resolves_to_loopback_at_send_time() -> None:
    """DNS rebinding: the check that counts is the one made when connecting."""
    async with receiving() as receiver:
        url = receiver.url("rebind.example.test")
        assert check_url(url) == url  # a name: fine when saved
        answers = {"rebind.example.test": ["93.184.216.34"]}
        backend = CountingBackend()
        async with counting_client(backend, mapping=answers) as c:
            answers["rebind.example.test"] = ["127.0.0.1"]  # the record changes after the save
            with pytest.raises(DestinationRefused, match=r"resolves to 127\.0\.0\.1"):
                await c.post(url, json={})
        assert backend.attempts == [] and receiver.seen == []


async def test_the_checked_address_is_the_one_connected_to_with_the_urls_name_as_host() -> None:
    async with receiving() as receiver:
        backend = CountingBackend()
        async with counting_client(backend, LOCAL, {"hooks.example.test": ["127.0.0.1"]}) as c:
            r = await c.post(receiver.url("hooks.example.test"), json={})
        assert r.status_code == 200
        assert backend.attempts == ["127.0.0.1"]  # the IP that was checked, never the name
        assert receiver.seen[0].headers["host"] == f"hooks.example.test:{receiver.port}"


async def test_a_connection_that_lands_elsewhere_is_refused() -> None:
    """Belt and braces: the socket's peer must be the checked address."""
    async with receiving("127.0.0.2") as elsewhere:
        backend = CountingBackend(connect_to="127.0.0.2")
        async with counting_client(backend, LOCAL) as c:
            with pytest.raises(DestinationRefused, match=r"connected to 127\.0\.0\.2, not the checked 127\.0\.0\.1"):
                await c.get(f"http://127.0.0.1:{elsewhere.port}/")
        assert elsewhere.seen == []


async def test_redirects_are_not_followed() -> None:
    async with receiving("127.0.0.2") as target, receiving(status=302) as redirector:
        redirector.headers.append(("location", target.url(path="/stolen")))
        async with client(LOCAL) as c:  # both receivers allowed: only the redirect policy stops it
            assert c.follow_redirects is False
            r = await c.post(redirector.url(), json={"secret": "x"})
        assert r.status_code == 302 and r.headers["location"] == target.url(path="/stolen")
        assert len(redirector.seen) == 1
        # A caller asking for redirects anyway still has each hop checked by the transport:
        # 127.0.0.1 is allowed here, the redirect's 127.0.0.2 is not.
        async with client("127.0.0.1/32") as c:
            with pytest.raises(DestinationRefused, match=r"127\.0\.0\.2 \(loopback\)"):
                await c.get(redirector.url(), follow_redirects=True)
        assert len(redirector.seen) == 2
    assert target.seen == []


async def test_https_verifies_the_urls_name_and_sends_it_as_sni(tmp_path: Path) -> None:
    cert: Certificate = make_certificate(tmp_path, "hooks.example.test")
    async with receiving(tls=cert.server_context()) as receiver:
        mapping = {"hooks.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]}
        async with client(LOCAL, mapping, verify=cert.client_context()) as c:
            r = await c.post(receiver.url("hooks.example.test"), json={"ok": True})
            assert r.status_code == 200
            # Same address, a name the certificate does not hold: verification is against the name.
            with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
                await c.post(receiver.url("other.example.test"), json={})
    assert receiver.sni[:2] == ["hooks.example.test", "other.example.test"]
    assert [s.headers["host"] for s in receiver.seen] == [f"hooks.example.test:{receiver.port}"]


async def test_resolution_failures_are_connection_errors_not_refusals() -> None:
    async with client(mapping={}) as c:
        with pytest.raises(httpx.ConnectError, match=r"could not resolve nowhere\.example\.test") as caught:
            await c.get("https://nowhere.example.test/")
    assert not isinstance(caught.value, DestinationRefused)

    async def slow(host: str) -> list[str]:
        await asyncio.sleep(5)
        return ["93.184.216.34"]

    transport = GuardedTransport(resolver=slow)
    async with httpx.AsyncClient(transport=transport, timeout=0.2) as c:
        with pytest.raises(httpx.ConnectTimeout, match=r"resolving slow\.example\.test took longer"):
            await c.get("https://slow.example.test/")


async def test_only_http_and_https_are_sent() -> None:
    transport = GuardedTransport()
    for url in ("ftp://example.com/", "file:///etc/passwd"):
        with pytest.raises(DestinationRefused, match=r"only http and https"):
            await transport.handle_async_request(httpx.Request("GET", url))


async def test_proxy_environment_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy would be the address connected to, leaving the receiver's unchecked."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.9:1")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.9:1")
    async with receiving() as receiver, client(LOCAL) as c:
        assert (await c.get(receiver.url())).status_code == 200
    assert len(receiver.seen) == 1
