"""The incident clock fast-forwarded on both databases: acknowledgement timeout, snooze end,
auto-resolve, and urgency raised when support hours begin."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Harness
from tests.engine.helpers import (
    MINUTE,
    T0,
    advance,
    assignees,
    clock,
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


async def test_acknowledging_stops_the_sends_and_the_escalation_and_starts_the_timeout(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob = await person(h, "Ann"), await person(h, "Bob")
    [iid] = await trigger(h, await service(h, await policy(h, [(10, [ann]), (10, [bob])])), "ack")
    clock(h).advance(minutes=2)
    acked = await put(h, iid, status="acknowledged")
    assert acked["pending_actions"] == [{"type": "unacknowledge", "at": "2030-01-07T08:32:00Z"}]
    assert await timers(h, iid) == {"unacknowledge": T0 + 32 * MINUTE}
    assert await sends(h, iid, "pending") == []
    assert await sends(h, iid) == [(ann, "email", "cancelled", T0), (ann, "sms", "cancelled", T0 + 5 * MINUTE)]
    await advance(h, minutes=20)  # past level 1's delay: acknowledged incidents do not escalate
    assert assignees(await incident(h, iid)) == [ann]


async def test_the_acknowledgement_timeout_triggers_again_and_pages_again(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann, bob = await person(h, "Ann"), await person(h, "Bob")
    [iid] = await trigger(h, await service(h, await policy(h, [(10, [ann]), (10, [bob])])), "timeout")
    clock(h).advance(minutes=2)
    await put(h, iid, status="acknowledged")
    await advance(h, minutes=29)
    assert (await incident(h, iid))["status"] == "acknowledged"
    again = await advance(h, minutes=1)
    body = await incident(h, iid)
    assert (body["status"], assignees(body)) == ("triggered", [ann])
    assert (await log(h, iid))[-1] == ("unacknowledge_log_entry", "Unacknowledged due to timeout.", "timeout")
    # Told again from the timeout, and level 1's delay counts again from there.
    assert await sends(h, iid, "pending") == [(ann, "email", "pending", again),
                                              (ann, "sms", "pending", again + 5 * MINUTE)]
    assert await timers(h, iid) == {"escalate": again + 10 * MINUTE}
    assert (await escalation(h, iid)).renotify_at == again
    await advance(h, minutes=10)
    assert assignees(await incident(h, iid)) == [bob]


async def test_a_snooze_end_triggers_again_and_pages_again(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann = await person(h, "Ann", sms=None)
    [iid] = await trigger(h, await service(h, await policy(h, [(10, [ann])])), "snooze")
    await put(h, iid, status="acknowledged")
    r = await h.client.post(f"/incidents/{iid}/snooze", headers=h.writer, json={"duration": 3 * 3600})
    assert r.status_code == 201, r.text
    assert r.json()["incident"]["pending_actions"] == [{"type": "unacknowledge", "at": "2030-01-07T11:00:00Z"}]
    await advance(h, minutes=59)  # past the acknowledgement timeout: the snooze replaced it
    assert (await incident(h, iid))["status"] == "acknowledged"
    end = await advance(h, hours=2, minutes=1)
    assert end == T0 + timedelta(hours=3)
    assert (await incident(h, iid))["status"] == "triggered"
    assert (await log(h, iid))[-1] == ("unacknowledge_log_entry", "Unacknowledged: the snooze ended.", "timeout")
    assert await sends(h, iid, "pending") == [(ann, "email", "pending", end)]


async def test_auto_resolve_resolves_and_cancels_everything_pending(harness: Harness) -> None:
    h = harness
    start_clock(h)
    ann = await person(h, "Ann")
    [iid] = await trigger(h, await service(h, await policy(h, [(30, [ann])]), auto_resolve_timeout=600), "auto")
    assert await timers(h, iid) == {"escalate": T0 + 30 * MINUTE, "resolve": T0 + 10 * MINUTE}
    await advance(h, minutes=10)
    body = await incident(h, iid)
    assert (body["status"], body["pending_actions"]) == ("resolved", [])
    assert (await log(h, iid))[-1] == ("resolve_log_entry", "Resolved due to timeout.", "timeout")
    assert await timers(h, iid) == {} and await sends(h, iid, "pending") == []
    assert (ann, "sms", "cancelled", T0 + 5 * MINUTE) in await sends(h, iid)


async def test_low_urgency_is_raised_when_support_hours_begin(harness: Harness) -> None:
    h = harness
    start_clock(h)  # Monday 08:00 UTC, an hour before support hours
    ann = await person(h, "Ann")
    svc = await service(h, await policy(h, [(120, [ann])]), incident_urgency_rule={
        "type": "use_support_hours", "during_support_hours": {"type": "constant", "urgency": "high"},
        "outside_support_hours": {"type": "constant", "urgency": "low"}},
        support_hours={"type": "fixed_time_per_day", "time_zone": "UTC", "days_of_week": [1, 2, 3, 4, 5],
                       "start_time": "09:00:00", "end_time": "17:00:00"},
        scheduled_actions=[{"type": "urgency_change", "at": {"type": "named_time", "name": "support_hours_start"},
                            "to_urgency": "high"}])
    [iid] = await trigger(h, svc, "night")
    body = await incident(h, iid)
    assert body["urgency"] == "low"
    assert body["pending_actions"] == [{"type": "urgency_change", "at": "2030-01-07T09:00:00Z", "to": "high"},
                                       {"type": "escalate", "at": "2030-01-07T10:00:00Z"}]
    assert await sends(h, iid) == [(ann, "phone", "pending", T0 + 2 * MINUTE)]  # her low-urgency rule
    await advance(h, minutes=59)
    assert (await incident(h, iid))["urgency"] == "low"
    nine = await advance(h, minutes=1)
    assert (await incident(h, iid))["urgency"] == "high"
    assert (await log(h, iid))[-1] == ("urgency_change_log_entry", "Urgency raised to high: support hours began.",
                                       "timeout")
    assert await sends(h, iid, "pending") == [(ann, "email", "pending", nine),
                                              (ann, "sms", "pending", nine + 5 * MINUTE)]
    assert "urgency_change" not in await timers(h, iid)
