"""The escalate step is set-based: one run over a batch costs the same statements whether the
batch holds two incidents or thirty (levels through a schedule and a round-robin rule)."""

from __future__ import annotations

from sqlalchemy import event

from tests.conftest import Harness
from tests.engine.helpers import advance, assignees, clock, incident, log, person, service, start_clock, trigger
from tocsin.engine.escalate import EscalateStep


async def _policy_through_a_schedule(h: Harness, first: str, on_call: str, also: str) -> str:
    """Level 1: ``first`` for 10 minutes; level 2 (round robin): whoever is on call in an
    always-on schedule of ``on_call``, and ``also``."""
    r = await h.client.post("/schedules", headers=h.writer, json={"schedule": {
        "type": "schedule", "name": "Always", "time_zone": "UTC", "schedule_layers": [{
            "start": "2030-01-01T00:00:00Z", "rotation_virtual_start": "2030-01-01T00:00:00Z",
            "rotation_turn_length_seconds": 86400, "users": [{"user": {"id": on_call, "type": "user_reference"}}]}]}})
    assert r.status_code == 201, r.text
    schedule = r.json()["schedule"]["id"]
    r = await h.client.post("/escalation_policies", headers=h.writer, json={"escalation_policy": {
        "name": "Through a schedule", "num_loops": 0, "escalation_rules": [
            {"escalation_delay_in_minutes": 10, "targets": [{"id": first, "type": "user_reference"}]},
            {"escalation_delay_in_minutes": 60, "escalation_rule_assignment_strategy": {"type": "round_robin"},
             "targets": [{"id": schedule, "type": "schedule_reference"}, {"id": also, "type": "user_reference"}]},
        ]}})
    assert r.status_code == 201, r.text
    return str(r.json()["escalation_policy"]["id"])


async def test_an_escalate_run_costs_the_same_statements_whatever_the_batch(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob, cy = [await person(h, n, sms=None) for n in ("Ann", "Bob", "Cy")]
    svc = await service(h, await _policy_through_a_schedule(h, ann, bob, cy))
    few = await trigger(h, svc, *[f"a{n}" for n in range(2)])
    await advance(h, minutes=1)
    many = await trigger(h, svc, *[f"b{n}" for n in range(30)])
    step = EscalateStep(h.tocsin.db, clock(h).now)

    async def statements() -> int:
        """Statements one run of the escalate step sends (its planner hook and next-due read included)."""
        seen: list[str] = []

        def count_one(_conn: object, _cursor: object, sql: str, *_: object) -> None:
            seen.append(sql)
        engines = h.tocsin.db.sync_engines()
        for engine in engines:
            event.listen(engine, "before_cursor_execute", count_one)
        try:
            result = await step.run(clock(h).now())
            assert not result.more
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", count_one)
        return len(seen)

    clock(h).advance(minutes=9)  # 08:10: the first two are due
    two = await statements()
    clock(h).advance(minutes=1)  # 08:11: the thirty
    thirty = await statements()
    assert two == thirty, (two, thirty)
    # Every incident escalated to level 2, the turns handed out in claim order (id within one instant).
    turns = [assignees(await incident(h, i)) for i in sorted(few) + sorted(many)]
    assert turns == [[bob], [cy]] * 16
    assert (await log(h, many[0]))[-1][0] == "escalate_log_entry"
    assert [t for t, _, _ in await log(h, few[0])].count("escalate_log_entry") == 1
