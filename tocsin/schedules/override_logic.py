"""A schedule's overrides: created one by one or in a batch with a result per item, removed or
cut short; every change audited, in the caller's transaction.

Built on ``tocsin.schedules.logic`` (the schedule, the user check); the routes only shape the
answer, so the CLI or a web UI creating a batch gets the same per-item rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.errors import InvalidInput, NotFound
from tocsin.ids import new_id
from tocsin.schedules import logic
from tocsin.schedules.audit import override_snapshot
from tocsin.schedules.layers import aware
from tocsin.schedules.models import Schedule, ScheduleOverride
from tocsin.schedules.schemas import OverrideIn
from tocsin.schedules.zones import zone_info


@dataclass(frozen=True)
class OverrideResult:
    """One batch item's outcome: the row made, or why it was refused. ``start``/``end`` are the
    asked times placed in the schedule's zone, so a refusal can show the item as asked."""

    start: datetime
    end: datetime
    user_id: str
    row: ScheduleOverride | None = None
    errors: list[str] = field(default_factory=list)


async def create_override(
    session: AsyncSession, schedule: Schedule, override: OverrideIn, actor: Actor, now: datetime,
    field: str = "override",
) -> ScheduleOverride:
    zone = zone_info(schedule.time_zone)
    start, end = aware(override.start, zone), aware(override.end, zone)
    problems = [f"{field}.end: end must be after start"] if end <= start else []
    problems += await logic.missing_users(session, [(f"{field}.user.id", override.user.id)])
    if problems:
        raise InvalidInput(errors=problems)
    row = ScheduleOverride(id=new_id(), schedule_id=schedule.id, user_id=override.user.id,
                           start=start, end=end, created_at=now)
    session.add(row)
    await session.flush()
    record(session, actor, action="create", resource_type="override", resource_id=row.id,
           summary=f"Override on {schedule.name}", after=override_snapshot(row), at=now)
    return row


async def create_overrides(
    session: AsyncSession, schedule: Schedule, items: Sequence[OverrideIn], actor: Actor, now: datetime,
) -> list[OverrideResult]:
    """A batch, as PagerDuty takes it: each item is created or refused on its own (end not after
    start, an unknown user), the refused ones writing nothing; one result per item, in order."""
    zone = zone_info(schedule.time_zone)
    results: list[OverrideResult] = []
    for index, item in enumerate(items):
        start, end = aware(item.start, zone), aware(item.end, zone)
        try:
            # Creation order decides overlaps, so items of one batch get distinct instants.
            row = await create_override(session, schedule, item, actor, now + timedelta(microseconds=index),
                                        f"overrides[{index}]")
        except InvalidInput as refused:
            results.append(OverrideResult(start, end, item.user.id, errors=refused.errors or [refused.message]))
            continue
        results.append(OverrideResult(start, end, item.user.id, row=row))
    return results


async def delete_override(
    session: AsyncSession, schedule_id: str, override_id: str, actor: Actor, now: datetime
) -> tuple[ScheduleOverride, bool]:
    """A future override goes; one in progress is cut short at ``now``; the past stays as it was.

    Returns the row (as it now is) and whether it was removed (True) or cut short (False).
    """
    schedule = await logic.get_schedule(session, schedule_id)
    row = await session.get(ScheduleOverride, override_id)
    if row is None or row.schedule_id != schedule_id:
        raise NotFound(f"Override {override_id} not found", errors=["Override not found"])
    if row.end <= now:
        raise InvalidInput(errors=["A past override cannot be removed"])
    before = override_snapshot(row)
    removed = row.start >= now
    if removed:
        await session.execute(delete(ScheduleOverride).where(ScheduleOverride.id == row.id))
    else:
        row.end = now
    await session.flush()
    record(session, actor, action="delete" if removed else "update", resource_type="override", resource_id=row.id,
           summary=f"Override on {schedule.name}", before=before,
           after=None if removed else override_snapshot(row), at=now)
    return row, removed
