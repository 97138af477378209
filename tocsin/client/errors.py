"""One exception for every way a request can fail, carrying what the server said.

PagerDuty answers REST errors as ``{"error": {"message", "code", "errors"}}`` and Events API
errors as ``{"status", "message", "errors"}``; both are read into the same fields, so a caller
(the CLI) prints one kind of error whatever the API. ``status`` is None when no answer came at
all (connection refused, DNS, TLS, timeout).
"""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    def __init__(
        self, message: str, *, status: int | None = None, code: int | None = None,
        errors: tuple[str, ...] = (), method: str = "", url: str = "", retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.errors = errors
        self.method = method
        self.url = url
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f" ({self.method} {self.url} -> {self.status})" if self.status is not None else ""
        details = f": {'; '.join(self.errors)}" if self.errors else ""
        return f"{self.message}{details}{where}"

    @property
    def unreachable(self) -> bool:
        """No HTTP answer came back."""
        return self.status is None


def from_response(response: httpx.Response, retry_after: float | None = None) -> ApiError:
    """The error an unsuccessful answer describes, in either API's shape (or its raw text)."""
    request = response.request
    message, code, errors = _read_body(response)
    return ApiError(message, status=response.status_code, code=code, errors=errors, method=request.method,
                    url=str(request.url), retry_after=retry_after)


def from_transport(exc: httpx.HTTPError, method: str, url: str) -> ApiError:
    """No answer: why the connection failed."""
    reason = str(exc) or type(exc).__name__
    return ApiError(f"no answer from {url}: {reason}", method=method, url=url)


def _read_body(response: httpx.Response) -> tuple[str, int | None, tuple[str, ...]]:
    try:
        body: Any = response.json()
    except ValueError:
        text = response.text.strip()
        return (text[:300] or response.reason_phrase or f"HTTP {response.status_code}"), None, ()
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):  # REST API
            return (str(inner.get("message") or response.reason_phrase), _int(inner.get("code")),
                    _strings(inner.get("errors")))
        if isinstance(inner, str):  # OAuth token endpoint: {"error": "invalid_client", ...}
            return str(body.get("error_description") or inner), None, ()
        if "message" in body:  # Events API
            return str(body["message"]), None, _strings(body.get("errors"))
    return response.reason_phrase or f"HTTP {response.status_code}", None, ()


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()
