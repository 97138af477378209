"""Manual REST actions on a running escalation, on both databases: reassign, delegate, escalate
to a level, resolve, merge, urgency; and the reconcile's repair of an incident's stored work."""

from __future__ import annotations

from sqlalchemy import delete

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
    put,
    sends,
    service,
    start_clock,
    timers,
    trigger,
)
from tocsin.engine.models import IncidentEscalation, IncidentTimer
from tocsin.engine.planner import sync_incidents


async def test_delegating_restarts_at_the_new_policys_level_one_with_its_path(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob, dee, eve = [await person(h, n, sms=None) for n in ("Ann", "Bob", "Dee", "Eve")]
    first = await policy(h, [(10, [ann]), (10, [bob])], num_loops=3, name="First")
    second = await policy(h, [(25, [dee]), (5, [eve])], name="Second")
    [iid] = await trigger(h, await service(h, first), "delegate")
    await advance(h, minutes=10)
    assert assignees(await incident(h, iid)) == [bob]
    clock(h).advance(minutes=3)
    moved = await put(h, iid, escalation_policy={"id": second, "type": "escalation_policy_reference"})
    at = T0 + 13 * MINUTE
    assert (assignees(moved), moved["escalation_policy"]["id"]) == ([dee], second)
    assert moved["pending_actions"] == [{"type": "escalate", "at": "2030-01-07T08:38:00Z"}]
    row = await escalation(h, iid)
    assert (row.policy_id, row.loop, row.level_started_at) == (second, 0, at)
    assert ([r["targets"][0]["id"] for r in row.path["rules"]], row.path["num_loops"]) == ([dee, eve], 0)
    assert await sends(h, iid, "pending") == [(dee, "email", "pending", at)]
    assert (bob, "email", "cancelled", T0 + 10 * MINUTE) in await sends(h, iid)
    assert (await log(h, iid))[-1][0] == "delegate_log_entry"
    await advance(h, minutes=25)
    assert assignees(await incident(h, iid)) == [eve]


async def test_reassigning_and_escalating_by_hand_restart_the_delay(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob, cy = [await person(h, n, sms=None) for n in ("Ann", "Bob", "Cy")]
    [iid] = await trigger(h, await service(h, await policy(h, [(10, [ann]), (20, [bob]), (30, [cy])])), "hand")
    clock(h).advance(minutes=4)
    escalated = await put(h, iid, escalation_level=3)
    assert (assignees(escalated), escalated["pending_actions"]) == (
        [cy], [{"type": "escalate", "at": "2030-01-07T08:34:00Z"}])
    assert await sends(h, iid, "pending") == [(cy, "email", "pending", T0 + 4 * MINUTE)]
    clock(h).advance(minutes=6)
    reassigned = await put(h, iid, assignments=[{"assignee": {"id": bob, "type": "user_reference"}}])
    assert (assignees(reassigned), reassigned["pending_actions"]) == (
        [bob], [{"type": "escalate", "at": "2030-01-07T08:40:00Z"}])  # level 3's 30 minutes, from now
    await advance(h, minutes=30)
    assert (await log(h, iid))[-1][0] == "exhaust_escalation_path_log_entry"
    assert assignees(await incident(h, iid)) == [bob]


async def test_an_exhausted_escalation_runs_again_after_a_manual_escalation(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob = [await person(h, n, sms=None) for n in ("Ann", "Bob")]
    [iid] = await trigger(h, await service(h, await policy(h, [(10, [ann]), (10, [bob])])), "again")
    await advance(h, minutes=10)
    await advance(h, minutes=10)
    assert (await escalation(h, iid)).exhausted
    await put(h, iid, escalation_level=1)
    assert await timers(h, iid) == {"escalate": T0 + 30 * MINUTE}
    await advance(h, minutes=10)
    assert assignees(await incident(h, iid)) == [bob]


async def test_resolving_cancels_every_pending_thing(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann = await person(h, "Ann")
    svc = await service(h, await policy(h, [(10, [ann])]), auto_resolve_timeout=3600)
    iid = (await create(h, svc))["id"]
    assert set(await timers(h, iid)) == {"escalate", "resolve"}
    resolved = await put(h, iid, status="resolved")
    assert resolved["pending_actions"] == []
    assert await timers(h, iid) == {} and await sends(h, iid, "pending") == []
    assert [s for _, _, s, _ in await sends(h, iid)] == ["cancelled", "cancelled"]
    await advance(h, hours=2)
    assert len(await log(h, iid)) == 3  # trigger, assign, resolve: nothing after


async def test_a_merged_incidents_pending_work_is_cancelled_and_the_targets_kept(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann = await person(h, "Ann")
    svc = await service(h, await policy(h, [(10, [ann])]))
    target, source = await trigger(h, svc, "target", "source")
    r = await h.client.put(f"/incidents/{target}/merge", headers=h.writer,
                           json={"source_incidents": [{"id": source, "type": "incident_reference"}]})
    assert r.status_code == 200, r.text
    assert await timers(h, source) == {} and await sends(h, source, "pending") == []
    assert await timers(h, target) == {"escalate": T0 + 10 * MINUTE}
    assert len(await sends(h, target, "pending")) == 2


async def test_an_urgency_change_pages_by_the_new_urgencys_rules(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann = await person(h, "Ann")
    iid = (await create(h, await service(h, await policy(h, [(10, [ann])]))))["id"]
    clock(h).advance(minutes=1)
    await put(h, iid, urgency="low")
    assert await sends(h, iid, "pending") == [(ann, "phone", "pending", T0 + 3 * MINUTE)]  # 1 min + her 2
    assert [s for _, c, s, _ in await sends(h, iid) if c != "phone"] == ["cancelled", "cancelled"]


async def test_reopening_freezes_the_path_again_and_pages_from_level_one(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob = [await person(h, n, sms=None) for n in ("Ann", "Bob")]
    [iid] = await trigger(h, await service(h, await policy(h, [(10, [ann]), (10, [bob])])), "reopen")
    await advance(h, minutes=10)
    await put(h, iid, status="resolved")
    clock(h).advance(minutes=5)
    reopened = await put(h, iid, status="triggered")
    at = T0 + 15 * MINUTE
    assert (assignees(reopened), reopened["pending_actions"]) == (
        [ann], [{"type": "escalate", "at": "2030-01-07T08:25:00Z"}])
    row = await escalation(h, iid)
    assert (row.loop, row.exhausted, row.level_started_at, row.opened_at) == (0, False, at, at)
    assert await sends(h, iid, "pending") == [(ann, "email", "pending", at)]


async def test_sync_repairs_an_incident_whose_work_went_missing_and_then_finds_nothing(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann = await person(h, "Ann")
    svc = await service(h, await policy(h, [(10, [ann])]))
    iid = (await create(h, svc))["id"]
    healthy = (await create(h, svc))["id"]
    async with h.tocsin.db.transaction() as session:
        await session.execute(delete(IncidentTimer).where(IncidentTimer.incident_id == iid))
        await session.execute(delete(IncidentEscalation).where(IncidentEscalation.incident_id == iid))
    now = clock(h).now()
    async with h.tocsin.db.transaction() as session:
        repaired = await session.run_sync(lambda s: sync_incidents(s, [iid, healthy], now))
    assert repaired == 1
    assert await timers(h, iid) == {"escalate": T0 + 10 * MINUTE}
    assert (await escalation(h, iid)).path["rules"][0]["targets"] == [{"type": "user", "id": ann}]
    async with h.tocsin.db.transaction() as session:
        assert await session.run_sync(lambda s: sync_incidents(s, [iid, healthy], now)) == 0
