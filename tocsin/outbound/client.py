"""The outbound HTTP client every integration (webhooks, forwarding, chat) sends through."""

from __future__ import annotations

import ssl

import httpx

from tocsin.config import Settings
from tocsin.outbound.resolver import Resolver, system_resolver
from tocsin.outbound.transport import GuardedTransport

DEFAULT_TIMEOUT = 5.0


def outbound_client(settings: Settings, timeout: float = DEFAULT_TIMEOUT, *, resolver: Resolver = system_resolver,
                    verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` that refuses non-public destinations (unless
    ``TOCSIN_WEBHOOK_ALLOWED_NETWORKS`` allows them), never follows redirects (a 3xx is the
    receiver's answer, recorded as such) and ignores proxy environment variables.

    Build one per process (the composition root does) and close it at shutdown: it keeps
    connections to receivers open between deliveries. A refused send raises
    ``tocsin.outbound.refusal.DestinationRefused``.
    """
    transport = GuardedTransport(settings.webhook_allowed_networks, resolver=resolver, verify=verify)
    return httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
