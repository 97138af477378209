"""Query parameters shared by the schedule routes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import Request

from tocsin.errors import InvalidInput
from tocsin.http.params import optional_datetime
from tocsin.schedules.rendering import check_window
from tocsin.schedules.zones import zone_info

DEFAULT_WINDOW = timedelta(days=14)


def time_zone(request: Request) -> ZoneInfo | None:
    """``time_zone``: an IANA or ActiveSupport name ("Eastern Time (US & Canada)"), as PagerDuty takes."""
    raw = request.query_params.get("time_zone")
    if not raw:
        return None
    try:
        return zone_info(raw)
    except ValueError:
        raise InvalidInput(errors=[f"time_zone {raw!r} is not a valid time zone"]) from None


def window(request: Request, now: datetime) -> tuple[datetime, datetime]:
    """``since`` (default now) and ``until`` (default two weeks after ``since``), checked."""
    since = optional_datetime(request, "since") or now
    until = optional_datetime(request, "until") or since + DEFAULT_WINDOW
    check_window(since, until)
    return since, until
