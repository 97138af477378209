"""Manual escalation by the frozen path (``Wiring.frozen_levels``).

``PUT /incidents/{id}`` with ``escalation_level`` (and the web UI's "escalate to level") moves a
running escalation, so it follows the path frozen onto the incident at trigger, as the escalate
step does: the level's targets as they stand now (users directly, schedules through whoever is on
call; a round-robin rule assigns the user whose turn it is, and the turn is taken). An incident
without a frozen path (opened before the engine kept one) answers None: the live policy decides.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.engine import facts
from tocsin.engine.path import levels, rule_at
from tocsin.escalation.queries import on_call_for_target_sets, take_round_robin_turns
from tocsin.escalation.round_robin import ROUND_ROBIN
from tocsin.http.wiring import FrozenLevel


async def frozen_level(session: AsyncSession, incident_id: str, level: int, at: datetime) -> FrozenLevel | None:
    found = (await session.run_sync(facts.escalations, [incident_id])).get(incident_id)
    if found is None:
        return None
    path = found[0]
    count = levels(path)
    rule = rule_at(path, level) if 1 <= level <= count else None
    if rule is None:
        return FrozenLevel(count, ())
    users = (await on_call_for_target_sets(session, {0: ([(t["type"], t["id"]) for t in rule["targets"]], at)}))[0]
    if rule["strategy"] == ROUND_ROBIN and users:
        return FrozenLevel(count, (await take_round_robin_turns(session, [(rule["id"], users)]))[0])
    return FrozenLevel(count, tuple(users))
