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

Set-based per batch (a fixed handful of statements however many incidents): the walks along the
paths are pure (``_Walk``); each round resolves the levels every walk reached at once (each
schedule loaded and rendered once), takes the round-robin turns in claim order (due time, then
incident id), and a further round runs only for incidents whose level had nobody on call. The
decisions are written together through ``transition_writer.change_many``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.db.session import Database
from tocsin.engine import facts
from tocsin.engine.due_timers import Claim, Claimed, claim, due_after
from tocsin.engine.models import ESCALATE
from tocsin.engine.path import EscalateTo, Exhaust, Path, PathRule, after_level, clamp_level, levels, rule_at
from tocsin.engine.planner import touch
from tocsin.engine.step import ESCALATE_STEP, StepResult
from tocsin.escalation.queries import on_call_for_target_sets, take_round_robin_turns
from tocsin.escalation.round_robin import ROUND_ROBIN
from tocsin.incidents.transition_records import Act, Command, Escalate, ExhaustPath, RepeatPath
from tocsin.incidents.transition_writer import change_rows

TIMEOUT = {"type": "timeout"}


class EscalateStep:
    name = ESCALATE_STEP
    budget_seconds = 10.0
    background = False
    runs_apart = False
    gather_seconds = 0.0

    def __init__(self, db: Database, now: Callable[[], datetime], batch: int = 500,
                 horizon: Callable[[], datetime | None] = lambda: None) -> None:
        self.db = db
        self.now = now
        # 500 a transaction (not 200): an escalation storm of 10,000 took 4.5 s instead of 5.0 on
        # SQLite (fewer commits and per-statement costs); the price is SQLite's write turn held
        # about 120 ms per batch during such a storm, which ingest's group commits wait behind.
        self.batch = batch
        # The latest due time acted on (None: now): ``NotifyStep.horizon``, so that an overdue
        # level's pages go out before the escalation that replaces that level.
        self.horizon = horizon

    async def run(self, now: datetime) -> StepResult:
        horizon = self.horizon()
        until = now if horizon is None else min(now, horizon)
        # SQLite: the whole transaction in one hop to the writer thread (Database.write), not a
        # thread round trip per statement while holding the write lock.
        claimed, later = await self.db.write(lambda session: self._escalate(session, until, now))
        # Timers held back for pages not yet out are due now: looked at again soon, as the pages go out.
        return StepResult(done=len(claimed.due), more=claimed.full, skipped_locked=claimed.skipped_locked,
                          next_due=later)

    async def _escalate(self, session: AsyncSession, until: datetime, now: datetime) -> tuple[Claim, datetime | None]:
        """Act at ``now`` on the timers due by ``until``; the claim, and the next timer due after
        ``until`` (the next levels this run stores are announced by the planner at the commit)."""
        claimed = await claim(session, (ESCALATE,), until, self.batch)
        ids = claimed.incident_ids
        escalations = await session.run_sync(facts.escalations, ids)
        walks = [_Walk.start(incident, *escalation[:2], due) for incident, _, due in claimed.due
                 if incident.state.status == "triggered"
                 and (escalation := escalations.get(incident.id)) is not None and not escalation[2]]
        await escalate(session, walks)
        act = Act(at=now, agent=None, channel=TIMEOUT)
        await change_rows(session, [(w.incident.state, w.incident.service_id, w.commands, act) for w in walks])
        touch(session, ids, now)  # the planner replaces each timer, whatever happened
        return claimed, await due_after(session, (ESCALATE,), until)


@dataclass
class _Walk:
    """One incident's way along its frozen path in this run (pure): the commands it makes."""

    incident: Claimed
    path: Path
    level: int
    loop: int
    due: datetime  # when the level's delay passed: levels are resolved as they stood then
    steps_left: int  # each level of each loop at most once
    commands: list[Command] = field(default_factory=list)

    @classmethod
    def start(cls, incident: Claimed, path: Path, loop: int, due: datetime) -> _Walk:
        return cls(incident, path, clamp_level(path, incident.state.escalation_level), loop, due,
                   levels(path) * (path["num_loops"] + 1) + 1)

    def next_level(self) -> PathRule | None:
        """Move past the current level: the rule of the level reached, or None when the path
        exhausted (the walk is over)."""
        if self.steps_left <= 0:  # after_level ends every path
            raise AssertionError(f"escalation of {self.incident.id} did not end within its path")
        self.steps_left -= 1
        step = after_level(self.path, self.level, self.loop)
        if isinstance(step, Exhaust):
            self.commands.append(ExhaustPath())
            return None
        if isinstance(step, EscalateTo):
            self.level = step.level
        else:
            self.commands.append(RepeatPath(step.loop))
            self.level, self.loop = 1, step.loop
        return rule_at(self.path, self.level)


async def escalate(session: AsyncSession, walks: list[_Walk]) -> None:
    """Walk every incident on from its current level until a level assigns somebody or the
    path exhausts. A level with nobody on call is passed over at once: a round runs for the
    walks still going, so a batch whose levels all page somebody costs one round."""
    going = walks
    while going:
        reached = [(w, rule) for w in going if (rule := w.next_level()) is not None]
        users = await on_call_for_target_sets(session, {
            n: ([(t["type"], t["id"]) for t in rule["targets"]], w.due) for n, (w, rule) in enumerate(reached)})
        turns = [n for n, (_, rule) in enumerate(reached) if rule["strategy"] == ROUND_ROBIN and users[n]]
        picked = await take_round_robin_turns(session, [(reached[n][1]["id"], users[n]) for n in turns])
        assigned: dict[int, tuple[str, ...]] = {n: tuple(found) for n, found in users.items()}
        assigned.update(zip(turns, picked, strict=True))
        going = []
        for n, (walk, _) in enumerate(reached):
            if assigned[n]:
                walk.commands.append(Escalate(walk.level, assigned[n], retrigger=False, always=True))
            else:
                going.append(walk)  # nobody on call at this level: straight on to the next
