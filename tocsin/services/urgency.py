"""Incident urgency from a service's ``incident_urgency_rule``, and when its support hours next
begin or end (pure)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

from tocsin.schedules.zones import zone_info

HIGH_SEVERITIES = frozenset({"critical", "error"})
DEFAULT_RULE: dict[str, Any] = {"type": "constant", "urgency": "high"}


def urgency_for(
    rule: dict[str, Any] | None, severity: str | None, at: datetime, support_hours: dict[str, Any] | None
) -> str:
    rule = rule or DEFAULT_RULE
    kind = rule.get("type", "constant")
    if kind == "use_support_hours":
        inside = support_hours is not None and within_support_hours(support_hours, at)
        branch = rule.get("during_support_hours" if inside else "outside_support_hours") or {}
        return urgency_for(branch, severity, at, None)
    urgency = rule.get("urgency", "high")
    if kind == "severity_based" or urgency == "severity_based":
        return "high" if severity in HIGH_SEVERITIES else "low"
    return "low" if urgency == "low" else "high"


def within_support_hours(support_hours: dict[str, Any], at: datetime) -> bool:
    """``support_hours``: {time_zone, days_of_week [1=Mon..7], start_time, end_time}."""
    local = at.astimezone(zone_info(support_hours.get("time_zone") or "UTC"))  # IANA or ActiveSupport name
    if local.isoweekday() not in support_hours.get("days_of_week", []):
        return False
    clock = local.strftime("%H:%M:%S")
    return str(support_hours["start_time"]) <= clock < str(support_hours["end_time"])


def next_support_hours_start(support_hours: dict[str, Any], after: datetime) -> datetime | None:
    """The first instant strictly after ``after`` at which support hours begin on a support day;
    None when they never do (no days). Wall-clock in the support hours' zone: 09:00 stays 09:00
    local across a daylight-saving change; a start inside a spring-forward gap (02:30 on the night
    clocks jump from 02:00 to 03:00) is the jump itself, the first instant the local clock reads
    past it (as ``within_support_hours`` sees it); a start the fall-back hour repeats is its first
    occurrence. A day whose support hours the jump swallows whole has none."""
    starts = _boundaries(support_hours, after, str(support_hours.get("start_time", "")))
    return next((t for t in starts if within_support_hours(support_hours, t)), None)


def next_support_hours_end(support_hours: dict[str, Any], after: datetime) -> datetime | None:
    """Like ``next_support_hours_start`` for the end of support hours."""
    return next(_boundaries(support_hours, after, str(support_hours.get("end_time", ""))), None)


def _boundaries(support_hours: dict[str, Any], after: datetime, clock: str) -> Iterator[datetime]:
    """The instants after ``after`` at which support days' local clocks reach ``clock``, for a
    week and a little (every weekday comes round), in order."""
    days = set(support_hours.get("days_of_week") or [])
    parsed = _clock(clock)
    if not days or parsed is None:
        return
    at, extra_days = parsed
    zone = zone_info(support_hours.get("time_zone") or "UTC")
    first = after.astimezone(zone).date() - timedelta(days=1)  # a 24:00 end belongs to the day before
    for offset in range(10):
        day = first + timedelta(days=offset)
        if day.isoweekday() not in days:
            continue
        instant = _first_instant_at(datetime.combine(day + timedelta(days=extra_days), at, tzinfo=zone))
        if instant > after:
            yield instant


def _first_instant_at(local: datetime) -> datetime:
    """The first instant (UTC) at which the local clock reads ``local`` or later that day."""
    first = local.astimezone(UTC)  # fold=0: the first occurrence of a repeated time
    other = local.replace(fold=1).astimezone(UTC)
    if other >= first:
        return first  # the time exists (once or twice)
    # Clocks jumped over it: between the two readings lies the jump; find it, to the second.
    wall, zone = local.replace(tzinfo=None), local.tzinfo
    low, high = int(other.timestamp()), int(first.timestamp())  # wall(low) < wall <= wall(high)
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _clock(text: str) -> tuple[time, int] | None:
    """"HH:MM:SS" -> (time of day, days to add): "24:00:00" is the next day's midnight."""
    if text == "24:00:00":
        return time(0), 1
    try:
        return time.fromisoformat(text), 0
    except ValueError:
        return None
