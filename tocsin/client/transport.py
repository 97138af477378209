"""Sending one request with retries: the part the REST and Events clients share.

A 429 is retried for any method (the server refused it, so nothing was applied), after the delay
the server asks for (``retry.retry_delay``). A GET is also retried when the answer broke off or
timed out, or the server was briefly unavailable (502, 503, 504): reading twice is harmless, writing
twice is not. A refused connection is not retried (nobody is listening: waiting will not help a
person at a terminal). Anything else becomes an ``ApiError`` at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from tocsin.client.errors import ApiError, from_response, from_transport
from tocsin.client.retry import retry_delay

RETRY_ON_READ = frozenset({502, 503, 504})
DEFAULT_RETRIES = 5

Sleep = Callable[[float], None]
QueryValue = str | int | float | bool | None | list[str] | list[int] | tuple[str, ...]
Params = Mapping[str, QueryValue]


def query_params(params: Params | None) -> list[tuple[str, str | int | float | bool | None]]:
    """Query pairs in PagerDuty's style: a list repeats its key (``statuses[]=a&statuses[]=b``),
    booleans are ``true``/``false``, None is left out."""
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        for item in (value if isinstance(value, list | tuple) else [value]):
            pairs.append((key, ("true" if item else "false") if isinstance(item, bool) else str(item)))
    return pairs


class Sender:
    """An httpx client that retries what may be retried and raises ``ApiError`` for the rest."""

    def __init__(self, base_url: str, headers: Mapping[str, str], *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0, max_retries: int = DEFAULT_RETRIES, sleep: Sleep = time.sleep,
                 on_wait: Callable[[float, ApiError], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self._sleep = sleep
        self._on_wait = on_wait
        self._http = httpx.Client(base_url=self.base_url, headers=dict(headers), transport=transport,
                                  timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def send(self, method: str, path: str, *, params: Params | None = None, json: Any = None,
             headers: Mapping[str, str] | None = None) -> httpx.Response:
        method = method.upper()
        url = f"{self.base_url}{path if path.startswith('/') else '/' + path}"
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._http.request(method, url, params=query_params(params), json=json,
                                              headers=dict(headers or {}))
            except httpx.HTTPError as exc:
                error = from_transport(exc, method, url)
                if method != "GET" or last or isinstance(exc, httpx.ConnectError):
                    raise error from None
                self._wait(retry_delay({}, attempt), error)
                continue
            if response.is_success:
                return response
            retryable = response.status_code == 429 or (method == "GET" and response.status_code in RETRY_ON_READ)
            if not retryable or last:
                after = retry_delay(response.headers, 0, jitter=0) if response.status_code == 429 else None
                raise from_response(response, retry_after=after)
            self._wait(retry_delay(response.headers, attempt), from_response(response))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, seconds: float, error: ApiError) -> None:
        if self._on_wait is not None:
            self._on_wait(seconds, error)
        self._sleep(seconds)
