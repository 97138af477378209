"""REST rate limit per credential, with ``ratelimit-*`` headers on every answer (pure ASGI
middleware: BaseHTTPMiddleware would cost throughput on every request)."""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

import orjson

from tocsin.events.ratelimit import SlidingWindowLimiter

WINDOW = 60


class RestRateLimit:
    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.limiter = SlidingWindowLimiter(limit, WINDOW)

    @staticmethod
    def _key(scope: dict[str, Any]) -> str | None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                return hashlib.sha256(value).hexdigest()
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        key = self._key(scope)
        if key is None or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        allowed = self.limiter.allow(key, now)
        used = self.limiter.used(key)
        reset = max(1, math.ceil(self.limiter.retry_after(key, now) or WINDOW))
        headers = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(max(0, self.limit - used)).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
        if not allowed:
            body = orjson.dumps({"error": {"message": "Rate Limit Exceeded", "code": 2020,
                                           "errors": ["Too many requests for this credential"]}})
            await send({"type": "http.response.start", "status": 429, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(reset).encode()), *headers]})
            await send({"type": "http.response.body", "body": body})
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
