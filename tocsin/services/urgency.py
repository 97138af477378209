"""Incident urgency from a service's ``incident_urgency_rule`` (pure)."""

from __future__ import annotations

from datetime import datetime
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
