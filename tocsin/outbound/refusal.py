"""The error a refused outbound request raises."""

from __future__ import annotations

import httpx


class DestinationRefused(httpx.RequestError):
    """A request refused before any connection was made: its URL is not http(s), or its host is
    (or resolves to) an address Tocsin does not deliver to (loopback, private, link-local ...)
    and TOCSIN_WEBHOOK_ALLOWED_NETWORKS does not allow it.

    It is an ``httpx.RequestError`` (httpx fills in ``request``), so code recording every failed
    send as an attempt records this one too; ``str(exc)`` is the reason, meant for the operator.
    Unlike a timeout or a refused connection it will not go away by itself (only a new URL, DNS
    record or setting changes it), so a retry policy should treat it as permanent.
    """

    def __init__(self, message: str, *, host: str = "", address: str | None = None) -> None:
        super().__init__(message)
        self.host = host
        self.address = address
