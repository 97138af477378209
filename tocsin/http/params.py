"""Query-string conventions: ``name[]`` arrays, 1/0/true/false booleans, ``sort_by``, dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request

from tocsin.errors import InvalidInput

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def array(request: Request, name: str) -> list[str]:
    """``name[]=a&name[]=b`` (also tolerating ``name=a`` and comma lists in one value)."""
    values = request.query_params.getlist(f"{name}[]") or request.query_params.getlist(name)
    return [v for raw in values for v in raw.split(",") if v]


# Free-text filters (``query=``, ``incident_key=``, ...) longer than this are refused: no name,
# email or key Tocsin stores is longer, and SQLite refuses LIKE patterns over 50,000 bytes.
MAX_FILTER_LENGTH = 255


def text_filter(request: Request, name: str) -> str | None:
    """A free-text filter's value (None when absent or empty), refused past ``MAX_FILTER_LENGTH``."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    if len(raw) > MAX_FILTER_LENGTH:
        raise InvalidInput(errors=[f"{name} must be at most {MAX_FILTER_LENGTH} characters"])
    return raw


def boolean(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise InvalidInput(errors=[f"{name} must be true or false"])


MIN_YEAR, MAX_YEAR = 1900, 9000  # far enough for any schedule; away from datetime's edges


def in_supported_range(value: datetime) -> datetime:
    """Refuse dates whose arithmetic (time-zone shifts, default windows) would overflow."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


def parse_datetime(raw: str, field: str) -> datetime:
    try:
        value = in_supported_range(datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+")))
    except ValueError:
        raise InvalidInput(errors=[f"{field} is not a valid ISO 8601 date between {MIN_YEAR} and {MAX_YEAR}"]) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def optional_datetime(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    return parse_datetime(raw, name) if raw else None


def time_zone(request: Request) -> ZoneInfo | None:
    raw = request.query_params.get("time_zone")
    if not raw:
        return None
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file path
        raise InvalidInput(errors=[f"time_zone {raw!r} is not a valid time zone"]) from None


def sort_by(request: Request, allowed: set[str], default: str) -> tuple[str, bool]:
    """``field`` or ``field:asc|desc`` -> (field, descending)."""
    raw = request.query_params.get("sort_by") or default
    field, _, direction = raw.partition(":")
    if field not in allowed or direction not in ("", "asc", "desc"):
        raise InvalidInput(errors=[f"sort_by must be one of {sorted(allowed)} with optional :asc or :desc"])
    return field, direction == "desc"


def date_window(request: Request, now: datetime, column: Any, default: timedelta) -> list[Any]:
    """PagerDuty's date filter as conditions on ``column``: ``since``/``until``,
    ``date_range=all`` (no condition), else the last ``default`` before ``now``."""
    if request.query_params.get("date_range") == "all":
        return []
    since = optional_datetime(request, "since")
    until = optional_datetime(request, "until")
    if since is None and until is None:
        since = now - default
    if since and until and since > until:
        raise InvalidInput(errors=["since must be before until"])
    return [c for c in (column >= since if since else None, column < until if until else None) if c is not None]
