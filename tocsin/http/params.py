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


# --- the query parameters as the OpenAPI document describes them ------------------------------
# Routes read the query string directly (the conventions above), so FastAPI cannot see their
# parameters; each route names the ones it reads with ``openapi_extra=documented(...)`` next to
# its decorator, from this one catalogue. Arrays are ``name[]`` as PagerDuty spells them.

_STRING: dict[str, Any] = {"type": "string"}
_TEXT: dict[str, Any] = {"type": "string", "maxLength": MAX_FILTER_LENGTH}
_DATE: dict[str, Any] = {"type": "string", "format": "date-time"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_IDS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

QUERY_PARAMETERS: dict[str, tuple[dict[str, Any], str]] = {
    "limit": ({"type": "integer", "minimum": 1, "maximum": 100, "default": 25}, "Results per page (at most 100)."),
    "offset": ({"type": "integer", "minimum": 0, "default": 0},
               "Offset of the first result (offset + limit at most 10,000)."),
    "total": ({"type": "boolean", "default": False}, "Count every match into `total` (slower)."),
    "cursor": (_STRING, "The `next_cursor` of the previous page."),
    "query": (_TEXT, "Case-insensitive substring of the name (at most 255 characters)."),
    "include[]": (_IDS, "Related resources to expand in the answer."),
    "time_zone": (_STRING, "IANA time zone in which times are rendered."),
    "since": (_DATE, "Start of the date range (ISO 8601)."),
    "until": (_DATE, "End of the date range (ISO 8601)."),
    "date_range": ({"type": "string", "enum": ["all"]}, "`all` ignores since and until."),
    "sort_by": (_STRING, "`field` or `field:asc|desc`."),
    "statuses[]": ({"type": "array", "items": {"type": "string", "enum": ["triggered", "acknowledged", "resolved"]}},
                   "Only these statuses."),
    "urgencies[]": ({"type": "array", "items": {"type": "string", "enum": ["high", "low"]}}, "Only these urgencies."),
    "service_ids[]": (_IDS, "Only these services."),
    "team_ids[]": (_IDS, "Only these teams."),
    "user_ids[]": (_IDS, "Only these users."),
    "integration_ids[]": (_IDS, "Only these integrations."),
    "escalation_policy_ids[]": (_IDS, "Only these escalation policies."),
    "schedule_ids[]": (_IDS, "Only these schedules."),
    "incident_key": (_TEXT, "Only the incident with this key (at most 255 characters)."),
    "alert_key": (_TEXT, "Only alerts with this key (at most 255 characters)."),
    "earliest": (_BOOL, "Only the earliest on-call per user, policy and level."),
    "overflow": (_BOOL, "Show entries whole instead of cut at since and until."),
    "editable": (_BOOL, "Only overrides that have not ended."),
    "include_next_oncall_for_user": (_STRING, "A user whose next on-call period is shown."),
    "urgency": ({"type": "string", "enum": ["high", "low", "all"], "default": "high"}, "Rules for this urgency."),
    "filter": ({"type": "string", "enum": ["past", "future", "ongoing", "open", "all"], "default": "all"},
               "Windows in this state."),
    "root_resource_types[]": (_IDS, "Only records of these resource types."),
    "actor_type": ({"type": "string", "enum": ["user_reference", "api_key_reference", "app_reference"]},
                   "Only records by this kind of actor."),
    "actor_id": (_TEXT, "Only records by this actor (needs actor_type)."),
    "method_type": ({"type": "string", "enum": ["browser", "oauth", "api_token", "identity_provider", "other"]},
                    "Only records made this way."),
    "method_truncated_token": (_TEXT, "Only records made with this credential (needs method_type)."),
    "actions[]": (_IDS, "Only these actions."),
    "filter_type": ({"type": "string", "enum": ["account", "service", "team"]},
                    "Only subscriptions filtering on this kind of resource."),
    "filter_id": (_TEXT, "The service or team filtered on (needs filter_type service or team)."),
    "status": ({"type": "string", "enum": ["pending", "delivered", "failed", "dropped"]},
               "Only deliveries in this state."),
}

PAGE = ("limit", "offset", "total")


def documented(*names: str) -> dict[str, Any]:
    """``openapi_extra`` declaring the query parameters a route reads (``names`` from the catalogue)."""
    parameters = []
    for name in names:
        schema, description = QUERY_PARAMETERS[name]
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema,
                                     "description": description}
        if schema.get("type") == "array":
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return {"parameters": parameters}
