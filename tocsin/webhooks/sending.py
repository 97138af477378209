"""One POST of a delivery's request, and what came of it (never raises).

The whole exchange has ``within`` seconds (PagerDuty expects a 2xx within 5 s); redirects are never
followed; a refusal keeps the first ``ERROR_BODY`` characters of its body for the operator. The
client (``engine.assembly.outbound_client``) carries the network guard as its transport.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from tocsin.webhooks.request import OutboundRequest

log = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0  # seconds for the whole exchange (PagerDuty expects a 2xx within 5 s)
ERROR_BODY = 300  # characters of a refusal's body kept in the attempt's error


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST's outcome: the answer's status (None: none came) or why it failed."""

    started_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


async def send(client: httpx.AsyncClient, request: OutboundRequest, now: Callable[[], datetime], *,
               within: float = SEND_TIMEOUT) -> Attempt:
    """POST once, within ``within`` seconds for the whole exchange. Never raises."""
    timeout = within
    started_at, started = now(), time.perf_counter()

    def took() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        async with asyncio.timeout(timeout):
            async with client.stream("POST", request.url, content=request.body, headers=list(request.headers),
                                     follow_redirects=False) as response:
                status = response.status_code
                error = None
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
                    if 300 <= status < 400:
                        error += f" (redirect to {response.headers.get('location', '?')} not followed)"
                    snippet = await _head_of(response)
                    if snippet:
                        error += f": {snippet}"
                return Attempt(started_at, status, took(), error)
    except TimeoutError:
        return Attempt(started_at, None, took(), f"no answer within {timeout:g} s")
    except httpx.TimeoutException:
        return Attempt(started_at, None, took(), f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return Attempt(started_at, None, took(), f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    except Exception as exc:  # a transport's surprise is retried like a connection failure
        # The URL is not logged: its query may carry a receiver's token.
        log.exception("webhook delivery %s failed unexpectedly", dict(request.headers).get("X-Webhook-Id"))
        return Attempt(started_at, None, took(), f"unexpected {type(exc).__name__}: {exc}")


async def _head_of(response: httpx.Response) -> str:
    """The first characters of a refusal's body (never more is read)."""
    taken = b""
    async for chunk in response.aiter_bytes():
        taken += chunk
        if len(taken) >= ERROR_BODY:
            break
    return " ".join(taken[:ERROR_BODY].decode(errors="replace").split())
