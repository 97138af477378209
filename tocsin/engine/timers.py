"""The clock step: the incident timers that are not escalations.

- ``unacknowledge``: the acknowledgement timeout or the snooze ran out; the incident returns to
  triggered (``unacknowledge_log_entry``) and its assignees are told again (the planner renotifies
  from the record);
- ``resolve``: the service's auto-resolve timeout; resolved (``resolve_log_entry``);
- ``urgency_change``: support hours began on a service whose ``scheduled_actions`` raise
  urgency; a low-urgency incident becomes high (``urgency_change_log_entry``) and its assignees
  hear through their high-urgency rules.

Each is written through the transition seam with channel ``timeout`` (the channel PagerDuty's
log entries use for what a service does on its own) and no agent; claimed as ``due_timers``
describes. A timer whose action no longer applies (the incident changed meanwhile) changes
nothing, and the planner replaces or drops it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db.session import Database
from tocsin.engine.due_timers import claim, next_due
from tocsin.engine.models import RESOLVE, UNACKNOWLEDGE, URGENCY_CHANGE
from tocsin.engine.planner import touch
from tocsin.engine.step import CLOCK_STEP, StepResult
from tocsin.incidents.models import Incident
from tocsin.incidents.transition_records import Act, Resolve, SetUrgency, Unacknowledge
from tocsin.incidents.transition_writer import change

KINDS = (UNACKNOWLEDGE, RESOLVE, URGENCY_CHANGE)
TIMEOUT = {"type": "timeout"}


class ClockStep:
    name = CLOCK_STEP
    budget_seconds = 10.0
    background = False
    runs_apart = False
    gather_seconds = 0.0

    def __init__(self, db: Database, now: Callable[[], datetime], batch: int = 20) -> None:
        self.db = db
        self.now = now
        self.batch = batch

    async def run(self, now: datetime) -> StepResult:
        async with self.db.transaction() as session:
            claimed = await claim(session, KINDS, now, self.batch)
            # ORM objects (locked by the claim): one incident's timers act in turn on its state.
            incidents = {i.id: i for i in await session.scalars(
                select(Incident).where(Incident.id.in_(claimed.incident_ids)))}
            for row, kind, due in claimed.due:
                await act_on(session, incidents[row.id], kind, due, now)
            touch(session, claimed.incident_ids, now)
        return StepResult(done=len(claimed.due), more=claimed.full, skipped_locked=claimed.skipped_locked,
                          next_due=await next_due(self.db, KINDS, now))


async def act_on(session: AsyncSession, incident: Incident, kind: str, due: datetime, now: datetime) -> None:
    if kind == UNACKNOWLEDGE:
        snooze_over = incident.snoozed_until is not None and incident.snoozed_until <= now
        summary = "Unacknowledged: the snooze ended." if snooze_over else "Unacknowledged due to timeout."
        await change(session, incident, Unacknowledge(), Act(now, None, TIMEOUT, summary))
    elif kind == RESOLVE:
        await change(session, incident, Resolve(), Act(now, None, TIMEOUT, "Resolved due to timeout."))
    elif kind == URGENCY_CHANGE and incident.urgency == "low":
        summary = "Urgency raised to high: support hours began."
        await change(session, incident, SetUrgency("high"), Act(now, None, TIMEOUT, summary))
