"""Layer versions as value types: from a stored row or a request, to the engine's ``Layer``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.schedules.models import ScheduleLayer, ScheduleLayerUser
from tocsin.schedules.oncall import Layer, Restriction
from tocsin.schedules.schemas import LayerIn
from tocsin.schedules.zones import iana_name


@dataclass(frozen=True)
class LayerDef:
    """One layer version as the renderer and the wire need it (from a row, or a preview)."""

    version_id: str
    layer_id: str
    position: int
    name: str
    start: datetime
    end: datetime | None
    rotation_virtual_start: datetime
    rotation_turn_length_seconds: int
    restrictions: tuple[tuple[str, str, int, int | None], ...]
    users: tuple[str, ...]
    current: bool = True
    time_zone: str | None = None  # the zone restrictions are read in (None: the schedule's)

    def zone_key(self) -> str | None:
        return iana_name(self.time_zone) if self.time_zone else None

    def definition(self) -> tuple[Any, ...]:
        """What decides who is on call: an edit that changes this starts a new version."""
        return (self.position, self.start, self.end, self.rotation_virtual_start,
                self.rotation_turn_length_seconds, self.restrictions, self.users, self.zone_key())

    def restrictions_json(self) -> list[dict[str, Any]]:
        return [
            {"type": kind, "start_time_of_day": at, "duration_seconds": seconds, "start_day_of_week": day}
            for kind, at, seconds, day in self.restrictions
        ]

    def engine_layer(self) -> Layer:
        return Layer(
            id=self.version_id, start=self.start, end=self.end, users=self.users,
            rotation_virtual_start=self.rotation_virtual_start,
            rotation_turn_length_seconds=self.rotation_turn_length_seconds,
            restrictions=tuple(
                Restriction(kind, time.fromisoformat(at), seconds, day)  # type: ignore[arg-type]  # kind was validated on write
                for kind, at, seconds, day in self.restrictions
            ),
            time_zone=self.zone_key(),
        )


def aware(value: datetime, zone: ZoneInfo) -> datetime:
    """Naive input times are wall-clock times in the schedule's zone; everything is kept in UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def layer_def(layer: LayerIn, position: int, zone: ZoneInfo, *, version_id: str, layer_id: str) -> LayerDef:
    start = aware(layer.start, zone)
    return LayerDef(
        version_id=version_id, layer_id=layer_id, position=position,
        name=layer.name or f"Layer {position + 1}",
        start=start,
        end=aware(layer.end, zone) if layer.end is not None else None,
        rotation_virtual_start=aware(layer.rotation_virtual_start, zone) if layer.rotation_virtual_start else start,
        rotation_turn_length_seconds=layer.rotation_turn_length_seconds,
        restrictions=tuple(
            (r.type, r.start_time_of_day, r.duration_seconds, r.start_day_of_week) for r in layer.restrictions
        ),
        users=tuple(u.user.id for u in layer.users),
        time_zone=zone.key,
    )


def row_def(row: ScheduleLayer, users: list[str]) -> LayerDef:
    return LayerDef(
        version_id=row.id, layer_id=row.layer_id, position=row.position, name=row.name,
        start=row.start, end=row.end, rotation_virtual_start=row.rotation_virtual_start,
        rotation_turn_length_seconds=row.rotation_turn_length_seconds,
        restrictions=tuple(
            (r["type"], r["start_time_of_day"], int(r["duration_seconds"]), r.get("start_day_of_week"))
            for r in row.restrictions
        ),
        users=tuple(users), current=row.superseded_at is None, time_zone=row.time_zone,
    )


# --- loading (below logic and queries: both read layer versions) --------------------------------

MAX_TURNS = 200_000  # rotation turns one rendering may walk through (guards turn length 1 s)


def restriction_windows(count: int, lo: datetime, hi: datetime) -> int:
    """About how many restriction windows ``count`` restrictions open in [lo, hi) (a bound)."""
    return count * ((hi - lo).days + 2) if count else 0


async def version_rows(session: AsyncSession, schedule_ids: list[str]) -> list[tuple[ScheduleLayer, list[str]]]:
    if not schedule_ids:
        return []
    rows = list((await session.execute(
        select(ScheduleLayer).where(ScheduleLayer.schedule_id.in_(schedule_ids))
        .order_by(ScheduleLayer.position, ScheduleLayer.start, ScheduleLayer.created_at)
    )).scalars())
    users: dict[str, list[str]] = {row.id: [] for row in rows}
    if rows:
        for version_id, user_id in await session.execute(
            select(ScheduleLayerUser.layer_version_id, ScheduleLayerUser.user_id)
            .where(ScheduleLayerUser.layer_version_id.in_(list(users)))
            .order_by(ScheduleLayerUser.layer_version_id, ScheduleLayerUser.position)
        ):
            users[version_id].append(user_id)
    return [(row, users[row.id]) for row in rows]


async def layer_versions(session: AsyncSession, schedule_ids: list[str]) -> dict[str, list[LayerDef]]:
    """Every layer version of each schedule (history included), in precedence order."""
    found: dict[str, list[LayerDef]] = {sid: [] for sid in schedule_ids}
    for row, users in await version_rows(session, schedule_ids):
        found[row.schedule_id].append(row_def(row, users))
    return found
