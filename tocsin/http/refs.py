"""PagerDuty object and reference envelopes: ``id``, ``type``, ``summary``, ``self``, ``html_url``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

COLLECTIONS = {
    "incident": "incidents",
    "service": "services",
    "user": "users",
    "log_entry": "log_entries",
    "escalation_policy": "escalation_policies",
    "change_event": "change_events",
    "priority": "priorities",
    "team": "teams",
    "schedule": "schedules",
}


def collection(kind: str) -> str:
    """The URL collection of a resource type ("policy" -> "policies")."""
    return COLLECTIONS.get(kind, kind + "s")


def envelope(base: str, kind: str, id_: str, summary: str, *, parent: str | None = None) -> dict[str, Any]:
    path = f"{parent}/{collection(kind)}/{id_}" if parent else f"{collection(kind)}/{id_}"
    return {
        "id": id_,
        "type": kind,
        "summary": summary,
        "self": f"{base}/{path}",
        "html_url": f"{base}/ui/{path}",
    }


def reference(base: str, kind: str, id_: str, summary: str, *, parent: str | None = None) -> dict[str, Any]:
    ref = envelope(base, kind, id_, summary, parent=parent)
    ref["type"] = f"{kind}_reference"
    return ref


def iso(value: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    """ISO 8601 with seconds, ``Z`` for UTC as PagerDuty writes it, or in ``tz`` when asked."""
    if value is None:
        return None
    if tz is not None:
        return value.astimezone(tz).isoformat(timespec="seconds")
    # isoformat is C code; strftime was a tenth of rendering a page of incidents.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
