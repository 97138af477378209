"""The handoff step: a schedule handing over from A to B at 09:00 gives A an "end" and B a "start"
notification row due at 09:00, exactly once however often and by however many steps it runs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from tests.conftest import Harness
from tests.engine.helpers import new_user
from tocsin.clock import FrozenClock
from tocsin.engine.handoff import HandoffStep
from tocsin.engine.models import EngineCursor
from tocsin.notifications.models import HANDOFF, PENDING, Notification

T8 = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
T9 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


async def make_schedule(h: Harness, users: list[str]) -> str:
    """Daily turns handed over at 09:00: users[0] until 2030-01-07 09:00, then users[1]."""
    layer = {"start": "2030-01-06T09:00:00Z", "rotation_virtual_start": "2030-01-06T09:00:00Z",
             "rotation_turn_length_seconds": 86_400,
             "users": [{"user": {"id": u, "type": "user_reference"}} for u in users]}
    r = await h.client.post("/schedules", headers=h.writer, json={"schedule": {
        "name": "Primary", "time_zone": "Etc/UTC", "schedule_layers": [layer]}})
    assert r.status_code == 201, r.text
    return str(r.json()["schedule"]["id"])


async def make_policy(h: Harness, targets: list[dict[str, str]], handoffs: str, name: str = "Ops") -> str:
    r = await h.client.post("/escalation_policies", headers=h.writer, json={"escalation_policy": {
        "type": "escalation_policy", "name": name, "on_call_handoff_notifications": handoffs,
        "escalation_rules": [{"escalation_delay_in_minutes": 30, "targets": targets}]}})
    assert r.status_code == 201, r.text
    return str(r.json()["escalation_policy"]["id"])


async def make_service(h: Harness, policy_id: str) -> str:
    policy = {"id": policy_id, "type": "escalation_policy_reference"}
    r = await h.client.post("/services", headers=h.writer, json={"service": {
        "name": f"Service of {policy_id}", "escalation_policy": policy}})
    assert r.status_code == 201, r.text
    return str(r.json()["service"]["id"])


async def notices(h: Harness) -> list[Notification]:
    async with h.tocsin.db.transaction() as session:
        found = (await session.execute(select(Notification).where(Notification.kind == HANDOFF))).scalars()
        return sorted(found, key=lambda n: (n.due_at, n.detail["event"] if n.detail else ""))


def step(h: Harness, clock: FrozenClock) -> HandoffStep:
    return HandoffStep(h.tocsin.db, clock.now)


@pytest.fixture
async def handover(harness: Harness) -> dict[str, Any]:
    """A and B share a schedule; a policy that wants handoffs (if it has services) targets it and
    a service uses the policy. The clock: 08:00."""
    h = harness
    clock = FrozenClock(T8)
    h.tocsin.runtime.clock = clock
    a, b = await new_user(h, "Ann"), await new_user(h, "Bob")
    schedule = await make_schedule(h, [a, b])
    return {"h": h, "clock": clock, "a": a, "b": b, "schedule": schedule}


async def test_a_handover_gives_one_end_and_one_start_exactly_once(handover: dict[str, Any]) -> None:
    h, clock, a, b, schedule = (handover[k] for k in ("h", "clock", "a", "b", "schedule"))
    policy = await make_policy(h, [{"id": schedule, "type": "schedule_reference"}], "if_has_services")
    await make_service(h, policy)
    first = await step(h, clock).run(clock.now())  # the first run only sets the cursor
    assert first.done == 0 and first.next_due == T9
    assert await notices(h) == []
    clock.advance(hours=1)
    ran = await step(h, clock).run(clock.now())
    assert ran.done == 2 and ran.next_due == T9 + timedelta(days=1)
    found = await notices(h)
    assert [(n.user_id, n.detail["event"] if n.detail else None, n.due_at) for n in found] == [
        (a, "end", T9), (b, "start", T9)]
    ann_end, bob_start = found
    assert bob_start.key == f"handoff:{b}:{schedule}:start:{T9.isoformat()}"
    assert (bob_start.status, bob_start.channel, bob_start.address) == (PENDING, "email", "bob@example.com")
    assert bob_start.incident_id is None and bob_start.contact_method_id and bob_start.rule_id
    assert bob_start.detail == {
        "event": "start", "at": T9.isoformat(), "schedule": {"id": schedule, "name": "Primary"},
        "policy": {"id": policy, "name": "Ops"},
        "shift": {"start": T9.isoformat(), "end": (T9 + timedelta(days=1)).isoformat()},
    }
    assert ann_end.detail is not None and ann_end.detail["shift"]["end"] == T9.isoformat()
    # Again, by another step object, at the same instant and later: nothing new.
    assert (await step(h, clock).run(clock.now())).done == 0
    clock.advance(minutes=30)
    assert (await step(h, clock).run(clock.now())).done == 0
    # Even with the cursor set back (as a second engine racing would see it), the key holds.
    async with h.tocsin.db.transaction() as session:
        cursor = await session.get(EngineCursor, "handoff")
        assert cursor is not None and cursor.at == T9 + timedelta(minutes=30)
        cursor.at = T8
    assert (await step(h, clock).run(clock.now())).done == 0
    assert len(await notices(h)) == 2


async def test_if_has_services_without_a_service_sends_none_and_always_does(handover: dict[str, Any]) -> None:
    h, clock, schedule = handover["h"], handover["clock"], handover["schedule"]
    target = [{"id": schedule, "type": "schedule_reference"}]
    await make_policy(h, target, "if_has_services")
    await step(h, clock).run(clock.now())
    clock.advance(hours=1)
    ran = await step(h, clock).run(clock.now())
    assert ran.done == 0 and ran.next_due is None  # nothing is watched
    assert await notices(h) == []
    await make_policy(h, target, "always", name="Always")
    clock.advance(days=1)  # the next handover, 2030-01-08 09:00 (B to A)
    ran = await step(h, clock).run(clock.now())
    found = await notices(h)
    assert ran.done == 2
    assert [(n.user_id, n.detail["event"] if n.detail else None) for n in found] == [
        (handover["b"], "end"), (handover["a"], "start")]
    assert {n.detail["policy"]["name"] for n in found if n.detail} == {"Always"}


async def test_users_targeted_directly_and_policies_whose_services_are_gone_have_no_handoffs(
    handover: dict[str, Any],
) -> None:
    h, clock, a, schedule = handover["h"], handover["clock"], handover["a"], handover["schedule"]
    direct = await make_policy(h, [{"id": a, "type": "user_reference"}], "always", name="Direct")
    await make_service(h, direct)
    orphan = await make_policy(h, [{"id": schedule, "type": "schedule_reference"}], "if_has_services", name="Orphan")
    service = await make_service(h, orphan)
    assert (await h.client.delete(f"/services/{service}", headers=h.writer)).status_code == 204
    await step(h, clock).run(clock.now())
    clock.advance(hours=1)
    ran = await step(h, clock).run(clock.now())
    assert ran.done == 0 and ran.next_due is None
    assert await notices(h) == []


async def test_a_user_without_an_immediate_email_or_sms_rule_gets_no_notice(handover: dict[str, Any]) -> None:
    h, clock, a, b, schedule = (handover[k] for k in ("h", "clock", "a", "b", "schedule"))
    r = await h.client.get(f"/users/{b}/notification_rules", headers=h.auth)
    [rule] = r.json()["notification_rules"]
    r = await h.client.put(f"/users/{b}/notification_rules/{rule['id']}", headers=h.writer,
                           json={"notification_rule": {"start_delay_in_minutes": 5}})
    assert r.status_code == 200, r.text
    # Ann's immediate rule moves to an SMS number: her notice goes there, in E.164.
    r = await h.client.post(f"/users/{a}/contact_methods", headers=h.writer, json={"contact_method": {
        "type": "sms_contact_method", "label": "Mobile", "address": "5555550100", "country_code": 1}})
    sms = r.json()["contact_method"]["id"]
    [ann_rule] = (await h.client.get(f"/users/{a}/notification_rules", headers=h.auth)).json()["notification_rules"]
    r = await h.client.put(f"/users/{a}/notification_rules/{ann_rule['id']}", headers=h.writer, json={
        "notification_rule": {"contact_method": {"id": sms, "type": "sms_contact_method_reference"}}})
    assert r.status_code == 200, r.text
    await make_policy(h, [{"id": schedule, "type": "schedule_reference"}], "always")
    await step(h, clock).run(clock.now())
    clock.advance(hours=1)
    assert (await step(h, clock).run(clock.now())).done == 1
    [only] = await notices(h)
    assert (only.user_id, only.channel, only.address, only.contact_method_id) == (a, "sms", "+15555550100", sms)


async def test_edges_long_past_when_the_engine_was_stopped_are_skipped_loudly(
    handover: dict[str, Any], caplog: pytest.LogCaptureFixture,
) -> None:
    h, clock, schedule = handover["h"], handover["clock"], handover["schedule"]
    await make_policy(h, [{"id": schedule, "type": "schedule_reference"}], "always")
    await step(h, clock).run(clock.now())
    clock.advance(hours=4)  # 12:00: the 09:00 handover is three hours old
    with caplog.at_level(logging.WARNING, logger="tocsin.engine.handoff"):
        ran = await step(h, clock).run(clock.now())
    assert ran.done == 0 and await notices(h) == []
    assert any("are not sent: the engine was not running" in m for m in caplog.messages)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_postgresql_runs_the_step_in_one_engine_at_a_time(handover: dict[str, Any]) -> None:
    h, clock, schedule = handover["h"], handover["clock"], handover["schedule"]
    await make_policy(h, [{"id": schedule, "type": "schedule_reference"}], "always")
    await step(h, clock).run(clock.now())
    clock.advance(hours=1)
    async with h.tocsin.db.transaction() as other_engine:
        await other_engine.execute(text("SELECT pg_advisory_xact_lock(hashtext('tocsin.engine.handoff'))"))
        held = await step(h, clock).run(clock.now())
        assert held.skipped_locked and held.done == 0
    assert await notices(h) == []
    assert (await step(h, clock).run(clock.now())).done == 2
