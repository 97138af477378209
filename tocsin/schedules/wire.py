"""Schedules -> PagerDuty JSON: schedules with rendered sub-schedules, overrides, entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tocsin.auth.models import User
from tocsin.http.refs import envelope, iso, reference
from tocsin.schedules.layers import LayerDef
from tocsin.schedules.model import Entry
from tocsin.schedules.models import Schedule, ScheduleOverride
from tocsin.schedules.rendering import Rendering
from tocsin.schedules.zones import zone_info


def user_ref(base: str, user_id: str, users: dict[str, User]) -> dict[str, Any]:
    user = users.get(user_id)
    return reference(base, "user", user_id, user.name if user else user_id)


def user_json(base: str, user: User) -> dict[str, Any]:
    body = envelope(base, "user", user.id, user.name)
    body.update(name=user.name, email=user.email, time_zone=user.time_zone, role=user.role)
    return body


def _coverage(value: float) -> float:
    return round(value, 2)


def entries_json(base: str, entries: Sequence[Entry], users: dict[str, User], tz: ZoneInfo) -> list[dict[str, Any]]:
    return [
        {"start": iso(e.start, tz), "end": iso(e.end, tz), "user": user_ref(base, e.user, users)}
        for e in entries
    ]


def current_layers(versions: Sequence[LayerDef]) -> list[LayerDef]:
    return sorted((v for v in versions if v.current), key=lambda v: v.position)


def layer_user_ids(versions: Sequence[LayerDef]) -> list[str]:
    seen: dict[str, None] = {}
    for v in current_layers(versions):
        for user_id in v.users:
            seen.setdefault(user_id, None)
    return list(seen)


def layer_json(
    base: str, layer: LayerDef, users: dict[str, User], tz: ZoneInfo, rendering: Rendering | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": layer.layer_id,
        "type": "schedule_layer",
        "name": layer.name,
        "start": iso(layer.start, tz),
        "rotation_virtual_start": iso(layer.rotation_virtual_start, tz),
        "rotation_turn_length_seconds": layer.rotation_turn_length_seconds,
        "users": [{"user": user_ref(base, u, users)} for u in layer.users],
        "restrictions": layer.restrictions_json(),
    }
    if layer.end is not None:  # PagerDuty's schema has no null here: a layer without an end omits it
        body["end"] = iso(layer.end, tz)
    if rendering is not None:
        body["rendered_schedule_entries"] = entries_json(base, rendering.layers.get(layer.layer_id, []), users, tz)
        body["rendered_coverage_percentage"] = _coverage(rendering.layer_coverage.get(layer.layer_id, 0.0))
    return body


def schedule_json(
    base: str, schedule: Schedule, versions: Sequence[LayerDef], users: dict[str, User],
    tz: ZoneInfo | None = None, rendering: Rendering | None = None, teams: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The schedule; with ``rendering`` its layers, overrides and final schedule are rendered.
    ``teams`` holds (id, name) of the teams it belongs to."""
    zone = tz or zone_info(schedule.time_zone)
    body = envelope(base, "schedule", schedule.id, schedule.name)
    body.update(
        name=schedule.name,
        description=schedule.description or "",  # a string in PagerDuty's schema, never null
        time_zone=schedule.time_zone,
        users=[user_ref(base, u, users) for u in layer_user_ids(versions)],
        escalation_policies=[],
        teams=[reference(base, "team", team_id, name) for team_id, name in teams],
        schedule_layers=[layer_json(base, v, users, zone, rendering) for v in current_layers(versions)],
    )
    if rendering is not None:
        result = rendering.result
        body.update(
            overrides_subschedule={
                "name": "Overrides",
                "rendered_schedule_entries": entries_json(base, result.overrides, users, zone),
                "rendered_coverage_percentage": _coverage(result.overrides_coverage),
            },
            final_schedule={
                "name": "Final Schedule",
                "rendered_schedule_entries": entries_json(base, result.final, users, zone),
                "rendered_coverage_percentage": _coverage(result.final_coverage),
            },
        )
    return body


def override_json(base: str, override: ScheduleOverride, users: dict[str, User], tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": override.id,
        "start": iso(override.start, tz),
        "end": iso(override.end, tz),
        "user": user_ref(base, override.user_id, users),
    }


def refused_override_json(
    base: str, start: datetime, end: datetime, user_id: str, users: dict[str, User], tz: ZoneInfo
) -> dict[str, Any]:
    """A batch item that was not created, shown as asked (no ``id``), as PagerDuty echoes it."""
    return {"start": iso(start, tz), "end": iso(end, tz), "user": user_ref(base, user_id, users)}
