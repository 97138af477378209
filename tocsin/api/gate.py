"""The REST gate, a pure ASGI layer in front of FastAPI.

It authenticates before FastAPI reads a body (so a bad credential is a 401 whatever the body
is), then applies the per-credential rate limit and adds ``ratelimit-*`` headers to every
answer. Pure ASGI, because BaseHTTPMiddleware would cost throughput on every request.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from tocsin.api.webhook_ips import PATH as WEBHOOK_IPS_PATH
from tocsin.auth.access import Authenticator
from tocsin.errors import TocsinError
from tocsin.events.ratelimit import SlidingWindowLimiter
from tocsin.notifications.inbound import SMS_PATH
from tocsin.notifications.links import ACTION_PATH, VOICE_PATH

log = logging.getLogger(__name__)
WINDOW = 60
# The OAuth token endpoint is public: its client authenticates in the body (RFC 6749 2.3).
# Twilio's inbound SMS webhook sends no API key: its X-Twilio-Signature is checked by the route.
# GET /webhook_ips is public at PagerDuty too: receivers' operators fetch it to allow-list us.
PUBLIC_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/oauth/token",
                          SMS_PATH, WEBHOOK_IPS_PATH})
# Secret iCal feed URLs (tocsin.schedules.feeds): calendar apps cannot send an Authorization
# header, so the unguessable token in the path is the credential, checked by the feed route.
# The documentation pages' own JavaScript and CSS (tocsin.api.docs) are public like the pages.
# A notification's action links and a page call's key presses carry a signed token in the path
# (tocsin.notifications.links), checked by their routes (tocsin.engine.routes, twilio_routes).
PUBLIC_PREFIXES = ("/private/", "/docs/assets/", f"{ACTION_PATH}/", f"{VOICE_PATH}/")


async def _send_error(send: Any, status: int, message: str, code: int, errors: list[str],
                      headers: list[tuple[bytes, bytes]]) -> None:
    body = orjson.dumps({"error": {"message": message, "code": code, "errors": errors}})
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class RestGate:
    def __init__(self, app: Any, authenticator: Authenticator, limit: int) -> None:
        self.app = app
        self.authenticator = authenticator
        self.limit = limit
        self.limiter = SlidingWindowLimiter(limit, WINDOW)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            # No database column can hold NUL (PostgreSQL refuses it): a clear 400, never a 500.
            await _send_error(send, 400, "Invalid Input Provided", 2001,
                              ["NUL characters are not allowed in the path or query"], [])
            return
        if scope["path"] in PUBLIC_PATHS or scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), "")
        try:
            principal = await self.authenticator.authenticate(header)
        except TocsinError as exc:
            # Refused credentials spend a budget too, keyed by the client's address: keyed by
            # what was sent, every new guess would get a fresh budget (and a limiter entry).
            client = scope.get("client")
            headers, allowed = self._limit("refused:" + (client[0] if client else "unknown"))
            if not allowed:
                await _send_error(send, 429, "Rate Limit Exceeded", 2020,
                                  ["Too many requests for this credential"], headers)
                return
            await _send_error(send, exc.status_code, exc.message, exc.code, exc.errors, headers)
            return
        except Exception:  # the credential store is unreachable: say so in PagerDuty's shape
            log.exception("credential lookup failed")
            await _send_error(send, 503, "Service Unavailable", 2000,
                              ["Credentials could not be checked; retry later"], [])
            return
        scope.setdefault("state", {})["principal"] = principal
        headers, allowed = self._limit(principal.key_id)
        if not allowed:
            await _send_error(send, 429, "Rate Limit Exceeded", 2020,
                              ["Too many requests for this credential"], headers)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _limit(self, key: str) -> tuple[list[tuple[bytes, bytes]], bool]:
        if self.limit <= 0:
            return [], True
        now = time.monotonic()
        allowed = self.limiter.allow(key, now)
        reset = max(1, math.ceil(self.limiter.retry_after(key, now) or WINDOW))
        headers = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(max(0, self.limit - self.limiter.used(key))).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
        if not allowed:
            headers.append((b"retry-after", str(reset).encode()))
        return headers, allowed
