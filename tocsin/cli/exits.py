"""Exit codes the REST commands end with; scripts can rely on them (README lists them)."""

from __future__ import annotations

OK = 0
API_ERROR = 1  # the server refused or failed the request (4xx not listed below, 5xx); a bulk action partly failed
USAGE = 2  # bad arguments, options or input (Click's own code for usage errors); a name matching several things
NOT_FOUND = 3  # 404, or a name that matches nothing
AUTH = 4  # 401/403, or no credential configured
UNREACHABLE = 5  # no answer: connection refused, DNS, TLS, timeout
RATE_LIMITED = 6  # 429, still after the retries
INTERRUPTED = 130  # Ctrl-C


def for_status(status: int | None) -> int:
    """The exit code for an API error with this HTTP status (None: no answer)."""
    if status is None:
        return UNREACHABLE
    if status == 404:
        return NOT_FOUND
    if status in (401, 403):
        return AUTH
    if status == 429:
        return RATE_LIMITED
    return API_ERROR
