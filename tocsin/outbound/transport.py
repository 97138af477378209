"""An httpx transport that connects only to addresses it has checked (DNS rebinding safe).

httpcore opens every connection through a network backend's ``connect_tcp(host, port)`` and
then starts TLS on that stream with ``server_hostname`` = the URL's host. ``GuardedBackend``
takes that call: it resolves the host itself, refuses the whole request when any resolved
address is not permitted (``addresses.permitted``), and connects to a checked address (the IP,
not the name), so a second DNS answer can never be the one connected to. TLS still verifies the
certificate against the URL's name and sends it as SNI, and httpx still sends ``Host: <name>``,
because both come from the URL, not from the backend. After connecting, the peer address of the
socket is compared with the checked one.

A redirect is a new request through the same transport, so even a caller that follows
redirects has every hop checked (``client.outbound_client`` does not follow them at all).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterable

import httpcore
import httpx

from tocsin.outbound.addresses import Address, Network, non_public_reason, parse_address, permitted
from tocsin.outbound.refusal import DestinationRefused
from tocsin.outbound.resolver import Resolver, system_resolver

SCHEMES = frozenset({"http", "https"})
ALLOW_HINT = "TOCSIN_WEBHOOK_ALLOWED_NETWORKS"


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that resolves and checks before it connects (see the module doc)."""

    def __init__(self, allowed_networks: Iterable[Network] = (), *, resolver: Resolver = system_resolver,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.allowed_networks = tuple(allowed_networks)
        self._resolve_name = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(  # httpcore's interface names the parameter
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = await self._resolve(host, timeout)
        for address in addresses:  # every address, not only the first: any of them may be used
            if not permitted(address, self.allowed_networks):
                what = f"{address} ({non_public_reason(address)})"
                where = what if len(addresses) == 1 and host == str(address) else f"{host}: it resolves to {what}"
                raise DestinationRefused(
                    f"refused to connect to {where}, which is not a public address; set {ALLOW_HINT} "
                    "to allow its network", host=host, address=str(address))
        failure: Exception | None = None
        for address in addresses:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                stream = await self._inner.connect_tcp(
                    str(address), port, timeout=remaining, local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the next address, as a resolver-connecting client would
                continue
            await _verify_peer(stream, host, address)
            return stream
        assert failure is not None  # addresses is never empty (_resolve raises first)
        raise failure

    async def _resolve(self, host: str, within: float | None) -> list[Address]:
        try:
            return [parse_address(host)]  # a literal address: nothing to resolve
        except ValueError:
            pass
        try:
            async with asyncio.timeout(within):
                found = await self._resolve_name(host)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took longer than {within} s") from None
        except OSError as exc:  # socket.gaierror: no such name, no DNS server ...
            raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
        addresses: list[Address] = []
        for text in found:
            try:
                addresses.append(parse_address(text))
            except ValueError:
                raise httpcore.ConnectError(f"{host} resolved to {text!r}, which is not an address") from None
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolved to no address")
        return addresses

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused(f"refused to connect to the unix socket {path}: outbound requests use TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _verify_peer(stream: httpcore.AsyncNetworkStream, host: str, address: Address) -> None:
    """The socket's peer must be the address that was checked (belt and braces)."""
    peer = stream.get_extra_info("server_addr")
    if peer is None:  # a stream that cannot say (test doubles): the backend connected to ``address``
        return
    try:
        connected = parse_address(str(peer[0]))
    except ValueError:
        connected = None
    # Compared as numbers: an IPv6 zone ("%eth0") may be spelled differently by the socket.
    if connected is None or (connected.version, int(connected)) != (address.version, int(address)):
        await stream.aclose()
        raise DestinationRefused(f"refused {host}: connected to {peer[0]}, not the checked {address}",
                                 host=host, address=str(peer[0]))


class GuardedTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` over ``GuardedBackend``, for http and https URLs only.

    Never reads proxy settings from the environment: a proxy would be the address connected to,
    and the receiver's address would go unchecked.
    """

    def __init__(self, allowed_networks: Iterable[Network] = (), *, resolver: Resolver = system_resolver,
                 verify: ssl.SSLContext | bool = True, limits: httpx.Limits | None = None,
                 inner_backend: httpcore.AsyncNetworkBackend | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(verify=False, trust_env=False, limits=limits)  # its pool is replaced below
        self.backend = GuardedBackend(allowed_networks, resolver=resolver, inner=inner_backend)
        # httpx offers no way to hand its pool a network backend; the transport's only state is
        # ``_pool`` (httpx 0.28, pinned below 0.29), so the same pool is built over ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=self.backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in SCHEMES:
            raise DestinationRefused(f"refused {request.url.scheme}:// URL: only http and https are delivered to",
                                     host=request.url.host)
        return await super().handle_async_request(request)

