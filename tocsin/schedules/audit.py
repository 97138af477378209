"""What the audit trail records of schedules and overrides: the configurable fields, as plain
JSON-able values (``tocsin.schedules.logic`` writes the records)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tocsin.http.refs import iso
from tocsin.schedules.layers import LayerDef
from tocsin.schedules.models import Schedule, ScheduleOverride


def schedule_snapshot(schedule: Schedule, versions: Sequence[LayerDef], team_ids: Sequence[str]) -> dict[str, Any]:
    current = sorted((v for v in versions if v.current), key=lambda v: v.position)
    return {
        "name": schedule.name,
        "description": schedule.description,
        "time_zone": schedule.time_zone,
        "teams": sorted(team_ids),
        "schedule_layers": [
            {
                "id": v.layer_id,
                "name": v.name,
                "start": iso(v.start),
                "end": iso(v.end),
                "rotation_virtual_start": iso(v.rotation_virtual_start),
                "rotation_turn_length_seconds": v.rotation_turn_length_seconds,
                "users": list(v.users),
                "restrictions": v.restrictions_json(),
            }
            for v in current
        ],
    }


def override_snapshot(override: ScheduleOverride) -> dict[str, Any]:
    return {
        "schedule_id": override.schedule_id,
        "user_id": override.user_id,
        "start": iso(override.start),
        "end": iso(override.end),
    }
