"""Escalations fast-forwarded on both databases: what a trigger stores, levels, repeats, the
exhaust, round robin, and a policy edited while an incident escalates."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from tests.conftest import Harness
from tests.engine.helpers import (
    MINUTE,
    T0,
    advance,
    assignees,
    clock,
    create,
    escalation,
    incident,
    log,
    person,
    policy,
    policy_body,
    put,
    sends,
    service,
    start_clock,
    timers,
    trigger,
)
from tocsin.engine.escalate import EscalateStep


async def test_a_trigger_freezes_the_policy_assigns_level_one_and_stores_its_work(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob = await person(h, "Ann"), await person(h, "Bob")
    pid = await policy(h, [(10, [ann]), (20, [bob])], num_loops=1)
    svc = await service(h, pid, auto_resolve_timeout=4 * 3600)
    [by_event] = await trigger(h, svc, "disk")
    by_rest = await create(h, svc)
    # The POST's answer already shows the work its transaction stored.
    assert by_rest["pending_actions"] == [{"type": "escalate", "at": "2030-01-07T08:10:00Z"},
                                          {"type": "resolve", "at": "2030-01-07T12:00:00Z"}]
    for incident_id in (by_event, by_rest["id"]):
        row = await escalation(h, incident_id)
        assert (row.policy_id, row.loop, row.exhausted, row.level_started_at, row.opened_at) == (pid, 0, False, T0, T0)
        assert [(r["delay_minutes"], r["strategy"], r["targets"]) for r in row.path["rules"]] == [
            (10, "assign_to_everyone", [{"type": "user", "id": ann}]),
            (20, "assign_to_everyone", [{"type": "user", "id": bob}])]
        assert row.path["num_loops"] == 1
        assert await timers(h, incident_id) == {"escalate": T0 + 10 * MINUTE, "resolve": T0 + timedelta(hours=4)}
        # Ann's high-urgency rules: email at once, SMS after 5 minutes (not her low-urgency phone).
        assert await sends(h, incident_id) == [(ann, "email", "pending", T0), (ann, "sms", "pending", T0 + 5 * MINUTE)]
        body = await incident(h, incident_id)
        assert assignees(body) == [ann]
        assert body["pending_actions"] == by_rest["pending_actions"]
    listed = await h.client.get("/incidents", headers=h.auth, params={"date_range": "all"})
    assert [i["pending_actions"] for i in listed.json()["incidents"] if i["service"]["id"] == svc.id] == [
        by_rest["pending_actions"]] * 2


async def test_three_levels_escalate_in_turn_then_the_path_exhausts(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob, cy = await person(h, "Ann"), await person(h, "Bob"), await person(h, "Cy")
    pid = await policy(h, [(10, [ann]), (20, [bob]), (30, [cy])])
    [iid] = await trigger(h, await service(h, pid), "cpu")
    await advance(h, minutes=9)
    assert assignees(await incident(h, iid)) == [ann]  # not yet
    at = await advance(h, minutes=1)
    assert assignees(await incident(h, iid)) == [bob]
    assert await timers(h, iid) == {"escalate": at + 20 * MINUTE}
    # Ann's SMS (due at 08:05, unsent here: no notify step runs) went with the assignment.
    assert (ann, "sms", "cancelled", T0 + 5 * MINUTE) in await sends(h, iid)
    assert await sends(h, iid, "pending") == [(bob, "email", "pending", at), (bob, "sms", "pending", at + 5 * MINUTE)]
    await advance(h, minutes=20)
    assert assignees(await incident(h, iid)) == [cy]
    await advance(h, minutes=29)
    assert await timers(h, iid) == {"escalate": T0 + 60 * MINUTE}
    await advance(h, minutes=1)
    assert await log(h, iid) == [
        ("trigger_log_entry", "Triggered through the API.", "api"),
        ("assign_log_entry", "Assigned to Ann.", "auto"),
        ("escalate_log_entry", "Escalated to level 2 (Bob).", "timeout"),
        ("escalate_log_entry", "Escalated to level 3 (Cy).", "timeout"),
        ("exhaust_escalation_path_log_entry", "Escalation path exhausted.", "timeout"),
    ]
    body = await incident(h, iid)
    assert (assignees(body), body["pending_actions"], body["status"]) == ([cy], [], "triggered")
    row = await escalation(h, iid)
    assert (row.exhausted, row.loop) == (True, 0)
    await advance(h, hours=5)
    assert len(await log(h, iid)) == 5  # nothing more happens


async def test_the_path_repeats_num_loops_times_then_exhausts_leaving_the_last_assignees(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob = await person(h, "Ann", sms=None), await person(h, "Bob", sms=None)
    pid = await policy(h, [(5, [ann]), (5, [bob])], num_loops=2)
    [iid] = await trigger(h, await service(h, pid), "loop")
    for _ in range(12):
        await advance(h, minutes=5)
    entries = [(t, s) for t, s, _ in await log(h, iid)][2:]
    assert entries == [
        ("escalate_log_entry", "Escalated to level 2 (Bob)."),
        ("repeat_escalation_path_log_entry", "Repeating escalation path (loop 1)."),
        ("escalate_log_entry", "Escalated to level 1 (Ann)."),
        ("escalate_log_entry", "Escalated to level 2 (Bob)."),
        ("repeat_escalation_path_log_entry", "Repeating escalation path (loop 2)."),
        ("escalate_log_entry", "Escalated to level 1 (Ann)."),
        ("escalate_log_entry", "Escalated to level 2 (Bob)."),
        ("exhaust_escalation_path_log_entry", "Escalation path exhausted."),
    ]
    assert sum(t == "escalate_log_entry" for t, _ in entries) == 2 * (2 + 1) - 1
    assert assignees(await incident(h, iid)) == [bob] and await timers(h, iid) == {}
    # Every pass told its assignees again: Ann three times, Bob three times, 5 minutes apart.
    assert [(u, d) for u, _, _, d in await sends(h, iid)] == [
        (ann, T0), (bob, T0 + 5 * MINUTE), (ann, T0 + 10 * MINUTE), (bob, T0 + 15 * MINUTE),
        (ann, T0 + 20 * MINUTE), (bob, T0 + 25 * MINUTE)]


async def test_a_one_level_policy_pages_again_on_each_loop_and_exhausts_after_its_delay(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann = await person(h, "Ann", sms=None)
    once = await service(h, await policy(h, [(15, [ann])], name="Once"))
    twice = await service(h, await policy(h, [(15, [ann])], num_loops=1, name="Twice"))
    [a], [b] = await trigger(h, once, "a"), await trigger(h, twice, "b")
    await advance(h, minutes=15)
    assert [t for t, _, _ in await log(h, a)][-1] == "exhaust_escalation_path_log_entry"
    assert [t for t, _, _ in await log(h, b)][-2:] == ["repeat_escalation_path_log_entry", "escalate_log_entry"]
    # Paged again from the repeat (the first email, unsent here, gave way to the new one).
    assert await sends(h, b) == [(ann, "email", "cancelled", T0), (ann, "email", "pending", T0 + 15 * MINUTE)]
    await advance(h, minutes=15)
    assert [t for t, _, _ in await log(h, b)][-1] == "exhaust_escalation_path_log_entry"


async def test_round_robin_hands_incidents_out_in_turn(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob, cy = [await person(h, n, sms=None) for n in ("Ann", "Bob", "Cy")]
    dee = await person(h, "Dee", sms=None)
    pid = await policy(h, [(10, [ann, bob, cy], "round_robin"), (10, [dee, ann], "round_robin")])
    svc = await service(h, pid)
    batch = await trigger(h, svc, "r1", "r2", "r3", "r4")  # one processor batch takes four turns
    rest = [(await create(h, svc))["id"] for _ in range(2)]
    assert [assignees(await incident(h, i)) for i in batch + rest] == [[ann], [bob], [cy], [ann], [bob], [cy]]
    r = await h.client.get(f"/escalation_policies/{pid}", headers=h.auth)
    assert [rule["escalation_rule_assignment_strategy"] for rule in r.json()["escalation_policy"]["escalation_rules"]] \
        == ["round_robin", "round_robin"]
    await advance(h, minutes=10)  # level 2 takes its own turns, incident by incident
    second = [assignees(await incident(h, i))[0] for i in batch + rest]
    assert sorted(second) == sorted([dee, ann] * 3) and len(set(second)) == 2


async def test_an_edited_policy_leaves_running_escalations_alone(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob, cy = [await person(h, n, sms=None) for n in ("Ann", "Bob", "Cy")]
    pid = await policy(h, [(10, [ann]), (10, [bob])])
    svc = await service(h, pid)
    [old] = await trigger(h, svc, "before")
    r = await h.client.put(f"/escalation_policies/{pid}", headers=h.writer,
                           json=policy_body([(60, [cy]), (60, [cy])]))
    assert r.status_code == 200, r.text
    [new] = await trigger(h, svc, "after")
    await advance(h, minutes=10)
    assert assignees(await incident(h, old)) == [bob]  # the frozen path: 10 minutes, then Bob
    assert assignees(await incident(h, new)) == [cy] and await timers(h, new) == {"escalate": T0 + 60 * MINUTE}


async def test_a_manual_escalation_follows_the_frozen_path_not_the_edited_policy(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob, cy = [await person(h, n, sms=None) for n in ("Ann", "Bob", "Cy")]
    pid = await policy(h, [(10, [ann]), (10, [bob])])
    [iid] = await trigger(h, await service(h, pid), "manual")
    r = await h.client.put(f"/escalation_policies/{pid}", headers=h.writer,
                           json=policy_body([(60, [cy]), (60, [cy]), (60, [cy])]))
    assert r.status_code == 200, r.text
    refused = await h.client.put(f"/incidents/{iid}", headers=h.writer, json={"incident": {
        "type": "incident_reference", "escalation_level": 3}})
    assert refused.status_code == 400 and "between 1 and 2" in refused.text  # the frozen path has two
    moved = await put(h, iid, escalation_level=2)
    assert assignees(moved) == [bob]  # level 2 as frozen at trigger: Bob, not the edited policy's Cy


async def test_a_level_with_nobody_on_call_is_passed_over_at_once(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann = await person(h, "Ann", sms=None)
    r = await h.client.post("/schedules", headers=h.writer, json={"schedule": {
        "type": "schedule", "name": "Empty nights", "time_zone": "UTC", "schedule_layers": [{
            "start": "2030-01-01T00:00:00Z", "rotation_virtual_start": "2030-01-01T00:00:00Z",
            "rotation_turn_length_seconds": 86400, "users": [{"user": {"id": ann, "type": "user_reference"}}],
            "restrictions": [{"type": "daily_restriction", "start_time_of_day": "20:00:00",
                              "duration_seconds": 3600}]}]}})
    assert r.status_code == 201, r.text
    schedule = r.json()["schedule"]["id"]
    body = policy_body([(10, [ann])])
    body["escalation_policy"]["escalation_rules"] = [
        {"escalation_delay_in_minutes": 10, "targets": [{"id": schedule, "type": "schedule_reference"}]},
        {"escalation_delay_in_minutes": 10, "targets": [{"id": ann, "type": "user_reference"}]}]
    r = await h.client.post("/escalation_policies", headers=h.writer, json=body)
    assert r.status_code == 201, r.text
    [iid] = await trigger(h, await service(h, r.json()["escalation_policy"]["id"]), "gap")
    assert assignees(await incident(h, iid)) == []  # nobody on call at 08:00
    assert await timers(h, iid) == {"escalate": T0}
    await advance(h, seconds=0)
    assert assignees(await incident(h, iid)) == [ann]
    assert await timers(h, iid) == {"escalate": T0 + 10 * MINUTE}


async def test_a_batch_plans_its_incidents_in_a_fixed_number_of_statements(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann = await person(h, "Ann")
    svc = await service(h, await policy(h, [(10, [ann])]))

    async def statements(count: int, prefix: str) -> int:
        """Statements the processor sends for a batch of ``count`` new incidents."""
        for n in range(count):
            r = await h.send({"routing_key": svc.routing_key, "event_action": "trigger", "dedup_key": f"{prefix}{n}",
                              "payload": {"summary": "down", "source": "web-1", "severity": "critical"}})
            assert r.status_code == 202
        seen: list[str] = []

        def count_one(_conn: object, _cursor: object, sql: str, *_: object) -> None:
            seen.append(sql)
        engines = h.tocsin.db.sync_engines()  # SQLite: the processor's writer among them
        for engine in engines:
            event.listen(engine, "before_cursor_execute", count_one)
        try:
            assert await h.process() == count
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", count_one)
        return len(seen)

    await trigger(h, svc, "warm-up")
    few, many = await statements(2, "a"), await statements(40, "b")
    assert few == many, (few, many)
    assert len(await sends(h, (await trigger(h, svc, "last"))[0])) == 2


async def test_an_engine_back_from_an_outage_runs_each_overdue_step_once(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob, cy = [await person(h, n, sms=None) for n in ("Ann", "Bob", "Cy")]
    [iid] = await trigger(h, await service(h, await policy(h, [(10, [ann]), (10, [bob]), (10, [cy])])), "outage")
    back = await advance(h, minutes=35)  # nothing ran for 35 minutes
    assert [t for t, _, _ in await log(h, iid)].count("escalate_log_entry") == 1
    assert assignees(await incident(h, iid)) == [bob]
    assert await timers(h, iid) == {"escalate": back + 10 * MINUTE}  # Bob gets his whole delay


async def test_an_overdue_escalation_waits_until_the_earlier_levels_pages_are_out(harness: Harness) -> None:
    """Running apart from the notify step (PostgreSQL), the escalate step acts only on timers due
    before the pages the notify step has sent (its ``horizon``): after an outage, Ann's overdue
    page goes out before the overdue escalation hands the incident to Bob."""
    h = harness
    start_clock(h)
    ann, bob = [await person(h, n, sms=None) for n in ("Ann", "Bob")]
    [iid] = await trigger(h, await service(h, await policy(h, [(10, [ann]), (10, [bob])])), "late")
    clock(h).advance(minutes=15)  # nothing ran: Ann's page (08:00) and the escalation (08:10) are overdue
    held = EscalateStep(h.tocsin.db, clock(h).now, horizon=lambda: T0 - MINUTE)  # pages out up to 07:59
    result = await held.run(clock(h).now())
    assert result.done == 0 and result.next_due == T0 + 10 * MINUTE  # due now: looked at again soon
    assert assignees(await incident(h, iid)) == [ann]
    assert "escalate_log_entry" not in [t for t, _, _ in await log(h, iid)]
    caught_up = EscalateStep(h.tocsin.db, clock(h).now, horizon=clock(h).now)  # Ann's page is out: all caught up
    assert (await caught_up.run(clock(h).now())).done == 1
    assert assignees(await incident(h, iid)) == [bob]
