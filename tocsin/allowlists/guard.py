"""The per-request check: is the client's address admitted to the API surface it asks for?

It runs first in ``tocsin.api.app.Tocsin.__call__``, before the Events API hot path and the REST
gate, so a refused address reaches neither a credential lookup nor a body read. It must cost
next to nothing: the lists live in memory compiled (``policy.Policy``), and with no enabled list
on a surface the check is one attribute read. They are loaded on the first request (or at start),
installed again the moment a change commits in this process (``install``, through
``Wiring.allow_lists_changed``), and re-read every ``REFRESH_SECONDS`` for changes other processes
made (several servers on PostgreSQL; ``tocsin allowlist`` on the command line).

With ``TOCSIN_TRUSTED_PROXIES`` set, the client a trusted proxy names in ``X-Forwarded-For`` is
written into the ASGI scope's ``client`` (as uvicorn's proxy-header support would), so the audit
trail, rate limits and everything else see the same client the check judged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tocsin.allowlists import queries
from tocsin.allowlists.forwarded import client_address, forwarded_for
from tocsin.allowlists.policy import EVENTS_API, SURFACE_NAMES, ListRule, Policy, Ranges, compile_policy
from tocsin.db.session import Database
from tocsin.errors import AccessDenied
from tocsin.outbound.addresses import Network

log = logging.getLogger(__name__)
REFRESH_SECONDS = 5.0  # as long as a revoked API key may live on in another process

Scope = MutableMapping[str, Any]


@dataclass(frozen=True, slots=True)
class Refusal:
    surface: str
    address: str | None


class AllowListGuard:
    def __init__(self, db: Database, trusted_proxies: Iterable[Network] = (), *,
                 exempt_paths: Iterable[str] = (), exempt_prefixes: Sequence[str] = (),
                 refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._db = db
        proxies = tuple(trusted_proxies)
        self._trusted = Ranges(proxies) if proxies else None
        # Paths no REST list restricts: health probes, public facts, and provider callbacks
        # authenticated by their own signatures (Twilio cannot call from the office network).
        self._exempt_paths = frozenset(exempt_paths)
        self._exempt_prefixes = tuple(exempt_prefixes)
        self.refresh_seconds = refresh_seconds
        self.policy: Policy | None = None  # None until first loaded
        self._generation = 0  # bumped by every install, so a slower read never overwrites it
        self._first_load = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # --- loading ------------------------------------------------------------------------------

    def install(self, stored: Sequence[Mapping[str, Any]]) -> None:
        """Enforce these lists from now on (the stored shape: ``queries.stored``)."""
        self._generation += 1
        self.policy = compile_policy(ListRule.from_stored(s) for s in stored)

    async def load(self) -> None:
        """Read the lists from the database and enforce them (unless a change this process made
        was installed while they were being read: that one is newer)."""
        generation = self._generation
        stored = await self._db.read(queries.stored_lists)
        if generation == self._generation:
            self.install(stored)

    async def ensure_loaded(self) -> None:
        async with self._first_load:
            if self.policy is None:
                await self.load()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._refresh_forever(), name="allow-list-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.load()
            except Exception:  # keep enforcing the lists last read; say why
                log.warning("could not re-read the IP allow lists; still enforcing the ones read before",
                            exc_info=True)

    # --- the check ----------------------------------------------------------------------------

    def check(self, scope: Scope, surface: str) -> Refusal | None:
        """None when the request may go on; the refusal otherwise. The policy must be loaded."""
        if self._trusted is not None:
            self._resolve_client(scope)
        assert self.policy is not None, "ensure_loaded() first"
        ranges = self.policy.ranges(surface)
        if ranges is None:
            return None  # the common case: no enabled list restricts this surface
        path: str = scope["path"]
        if path in self._exempt_paths or path.startswith(self._exempt_prefixes):
            return None
        client = scope.get("client")
        address: str | None = client[0] if client else None
        if address is not None and ranges.holds(address):
            return None
        return Refusal(surface, address)

    def _resolve_client(self, scope: Scope) -> None:
        assert self._trusted is not None
        client = scope.get("client")
        peer: str | None = client[0] if client else None
        if peer is None or not self._trusted.holds(peer):
            return  # never believe X-Forwarded-For from an untrusted peer
        real = client_address(peer, forwarded_for(scope["headers"]), self._trusted)
        if real != peer:
            scope["client"] = (real, 0) if real is not None else None


async def refuse(send: Any, refusal: Refusal) -> None:
    """403 in the surface's own error shape: the Events API's, or the REST API's envelope."""
    who = refusal.address or "an address that could not be determined"
    reason = (f"Requests from {who} are not allowed by the account's IP allow list for the "
              f"{SURFACE_NAMES[refusal.surface]}")
    body: dict[str, Any]
    if refusal.surface == EVENTS_API:
        body = {"status": "forbidden", "message": "Forbidden by the account's IP allow list", "errors": [reason]}
    else:
        body = {"error": {"message": AccessDenied.message, "code": AccessDenied.code, "errors": [reason]}}
    payload = orjson.dumps(body)
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


async def unavailable(send: Any, surface: str) -> None:
    """503 when the lists could not be read at all: without them no request can be judged."""
    reason = "The IP allow lists could not be read; retry later"
    if surface == EVENTS_API:
        body: dict[str, Any] = {"status": "error", "message": "Service Unavailable", "errors": [reason]}
    else:
        body = {"error": {"message": "Service Unavailable", "code": 2000, "errors": [reason]}}
    payload = orjson.dumps(body)
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
