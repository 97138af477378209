"""The escalate step: a level's delay passed unacknowledged, so the incident moves on.

For each due ``escalate`` timer (claimed as ``due_timers`` describes), the incident's frozen path
(``tocsin.engine.path.after_level``) says what happens, written through the transition seam with
channel ``timeout`` and no agent:

- the next level: its targets as they stand at the timer's due time (users directly, schedules
  through whoever is on call then; a round-robin rule assigns the user whose turn it is) become
  the assignees (``escalate_log_entry``);
- after the last level, while loops remain: ``repeat_escalation_path_log_entry``, then level 1;
- after the last loop: ``exhaust_escalation_path_log_entry``; the last assignees keep it.

A level with nobody on call is passed over at once, as PagerDuty does. The planner (before the
commit) then moves the escalation row on from the records and replaces the timer. The change is
dated by the run, not the due time: after an outage each overdue timer runs once, and the next
level's delay counts from then (its responders get their whole delay; no burst of levels).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db.session import Database
from tocsin.engine.due_timers import claim, next_due
from tocsin.engine.models import ESCALATE, IncidentEscalation
from tocsin.engine.path import EscalateTo, Exhaust, Path, after_level, clamp_level, levels, rule_at
from tocsin.engine.planner import touch
from tocsin.engine.step import StepResult
from tocsin.escalation.queries import on_call_for_targets, take_round_robin_turn
from tocsin.escalation.round_robin import ROUND_ROBIN
from tocsin.incidents.models import Incident
from tocsin.incidents.transition_records import Act, Escalate, ExhaustPath, RepeatPath
from tocsin.incidents.transition_writer import change

TIMEOUT = {"type": "timeout"}


class EscalateStep:
    name = "escalate"
    budget_seconds = 10.0

    def __init__(self, db: Database, now: Callable[[], datetime], batch: int = 20) -> None:
        self.db = db
        self.now = now
        self.batch = batch

    async def run(self, now: datetime) -> StepResult:
        async with self.db.transaction() as session:
            claimed = await claim(session, (ESCALATE,), now, self.batch)
            ids = claimed.incident_ids
            rows = await session.execute(select(IncidentEscalation).where(IncidentEscalation.incident_id.in_(ids)))
            escalations = {e.incident_id: e for e in rows.scalars()}
            for incident, _, due in claimed.due:
                escalation = escalations.get(incident.id)
                if incident.status == "triggered" and escalation is not None and not escalation.exhausted:
                    await escalate(session, incident, escalation, due, now)
            touch(session, ids, now)  # the planner replaces each timer, whatever happened
        return StepResult(done=len(claimed.due), more=claimed.full, skipped_locked=claimed.skipped_locked,
                          next_due=await next_due(self.db, (ESCALATE,), now))


async def escalate(
    session: AsyncSession, incident: Incident, escalation: IncidentEscalation, due: datetime, now: datetime,
) -> None:
    """Move ``incident`` along its frozen path from its current level (the level's delay passed
    at ``due``)."""
    path = cast(Path, escalation.path)
    level, loop = clamp_level(path, incident.escalation_level), escalation.loop
    act = Act(at=now, agent=None, channel=TIMEOUT)
    for _ in range(levels(path) * (path["num_loops"] + 1) + 1):  # each level of each loop at most once
        step = after_level(path, level, loop)
        if isinstance(step, Exhaust):
            await change(session, incident, ExhaustPath(), act)
            return
        if isinstance(step, EscalateTo):
            level = step.level
        else:
            await change(session, incident, RepeatPath(step.loop), act)
            level, loop = 1, step.loop
        users = await assignees(session, path, level, due)
        if users:
            await change(session, incident, Escalate(level, users, retrigger=False, always=True), act)
            return
        # Nobody on call at this level: straight on to the next.
    raise AssertionError(f"escalation of {incident.id} did not end within its path")  # after_level ends it


async def assignees(session: AsyncSession, path: Path, level: int, at: datetime) -> tuple[str, ...]:
    """Who ``level`` of the frozen path assigns at ``at``: everyone its targets page then, or for
    a round-robin rule the one whose turn it is (the turn is taken)."""
    rule = rule_at(path, level)
    if rule is None:
        return ()
    users = await on_call_for_targets(session, [(t["type"], t["id"]) for t in rule["targets"]], at)
    if rule["strategy"] == ROUND_ROBIN:
        return await take_round_robin_turn(session, rule["id"], users)
    return tuple(users)
