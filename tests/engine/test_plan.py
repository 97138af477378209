"""What an incident should have pending (tocsin.engine.plan): each rule directly, then properties
over random incidents."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.engine import models as engine_models
from tocsin.engine.path import EMPTY_PATH, Path, PolicyRule, freeze
from tocsin.engine.plan import (
    CHANNELS,
    ESCALATE,
    RESOLVE,
    UNACKNOWLEDGE,
    URGENCY_CHANGE,
    ContactRule,
    EscalationFacts,
    IncidentFacts,
    ServiceFacts,
    plan,
    send_key,
)
from tocsin.notifications import models as notification_models

T0 = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC
PATH = freeze(1, [PolicyRule("R1", 10, (("user", "U1"),)), PolicyRule("R2", 30, (("user", "U2"),))])
RULES = {"U1": [ContactRule("N1", "C1", "email_contact_method", "u1@example.com", 0, "high"),
                ContactRule("N2", "C2", "sms_contact_method", "+15550001", 5, "high"),
                ContactRule("N3", "C3", "phone_contact_method", "+15550001", 2, "low")]}
SUPPORT = {"time_zone": "UTC", "days_of_week": [1, 2, 3, 4, 5], "start_time": "09:00:00", "end_time": "17:00:00"}
RAISE = [{"type": "urgency_change", "at": {"type": "named_time", "name": "support_hours_start"}, "to_urgency": "high"}]


def facts(**changes: Any) -> IncidentFacts:
    base = IncidentFacts(
        id="I1", status="triggered", urgency="high", created_at=T0, last_status_change_at=T0, level=1,
        assignments=(("U1", T0),), escalation=EscalationFacts(PATH, 0, False, T0, T0),
        service=ServiceFacts(acknowledgement_timeout=1800, auto_resolve_timeout=14400), rules=RULES)
    return replace(base, **changes)


def test_kinds_and_channels_are_the_stored_ones() -> None:
    assert (ESCALATE, UNACKNOWLEDGE, RESOLVE, URGENCY_CHANGE) == engine_models.TIMER_KINDS
    assert set(CHANNELS.values()) == {notification_models.EMAIL, notification_models.SMS,
                                      notification_models.PHONE, notification_models.PUSH}


def test_triggered_escalates_after_the_levels_delay_and_notifies_by_the_urgencys_rules() -> None:
    p = plan(facts(), T0)
    assert p.timers == {ESCALATE: T0 + timedelta(minutes=10), RESOLVE: T0 + timedelta(hours=4)}
    assert [(s.rule_id, s.channel, s.address, s.due_at) for s in p.sends] == [
        ("N1", "email", "u1@example.com", T0), ("N2", "sms", "+15550001", T0 + timedelta(minutes=5))]
    assert p.sends[0].key == f"inc:I1:U1:N1:{T0.isoformat()}" == send_key("I1", "U1", "N1", T0)
    level2 = plan(facts(level=2, escalation=EscalationFacts(PATH, 0, False, T0 + timedelta(minutes=10), T0)), T0)
    assert level2.timers[ESCALATE] == T0 + timedelta(minutes=40)  # level 2's 30 minutes from its start


def test_low_urgency_uses_the_low_rules() -> None:
    p = plan(facts(urgency="low"), T0)
    assert [(s.rule_id, s.channel, s.due_at, s.urgency) for s in p.sends] == [
        ("N3", "phone", T0 + timedelta(minutes=2), "low")]


def test_no_escalation_when_exhausted_or_without_a_path_and_at_once_when_nobody_is_assigned() -> None:
    assert ESCALATE not in plan(facts(escalation=EscalationFacts(PATH, 1, True, T0, T0)), T0).timers
    assert ESCALATE not in plan(facts(escalation=EscalationFacts(EMPTY_PATH, 0, False, T0, T0)), T0).timers
    assert plan(facts(assignments=()), T0).timers[ESCALATE] == T0  # an empty level moves on at once


def test_acknowledged_waits_for_the_timeout_or_the_snooze_and_sends_nothing() -> None:
    ack_at = T0 + timedelta(minutes=3)
    acked = facts(status="acknowledged", last_status_change_at=ack_at)
    assert plan(acked, T0) == plan(acked, T0 + timedelta(days=1))  # ``now`` plays no part here
    assert plan(acked, T0).timers == {UNACKNOWLEDGE: ack_at + timedelta(minutes=30), RESOLVE: T0 + timedelta(hours=4)}
    assert plan(acked, T0).sends == ()
    snoozed = replace(acked, snoozed_until=T0 + timedelta(hours=1))
    assert plan(snoozed, T0).timers[UNACKNOWLEDGE] == T0 + timedelta(hours=1)
    no_timeouts = replace(acked, service=ServiceFacts(acknowledgement_timeout=0, auto_resolve_timeout=None))
    assert plan(no_timeouts, T0).timers == {}


def test_resolved_has_nothing_pending_and_auto_resolve_counts_from_the_reopening() -> None:
    assert plan(facts(status="resolved"), T0).timers == {} and plan(facts(status="resolved"), T0).sends == ()
    reopened = facts(escalation=EscalationFacts(PATH, 0, False, T0 + timedelta(days=2), T0 + timedelta(days=2)))
    assert plan(reopened, T0).timers[RESOLVE] == T0 + timedelta(days=2, hours=4)


def test_low_urgency_is_raised_at_the_next_support_hours_start() -> None:
    service = ServiceFacts(urgency_rule={"type": "use_support_hours"}, support_hours=SUPPORT, scheduled_actions=RAISE)
    low = facts(urgency="low", service=service)
    assert plan(low, T0).timers[URGENCY_CHANGE] == T0 + timedelta(hours=1)  # Monday 09:00
    assert URGENCY_CHANGE not in plan(replace(low, urgency="high"), T0).timers
    assert URGENCY_CHANGE not in plan(replace(low, service=replace(service, scheduled_actions=())), T0).timers
    constant = replace(service, urgency_rule={"type": "constant", "urgency": "low"})
    assert URGENCY_CHANGE not in plan(replace(low, service=constant), T0).timers
    # Lowered by hand during support hours: not raised again until the next start.
    lowered = replace(low, escalation=EscalationFacts(PATH, 0, False, T0, T0, renotify_at=T0 + timedelta(hours=2)))
    assert plan(lowered, T0).timers[URGENCY_CHANGE] == T0 + timedelta(days=1, hours=1)


def test_renotify_moves_every_send_to_a_new_anchor() -> None:
    again = T0 + timedelta(minutes=45)
    p = plan(facts(escalation=EscalationFacts(PATH, 0, False, again, T0, renotify_at=again)), T0)
    assert [(s.due_at, s.key) for s in p.sends] == [
        (again, send_key("I1", "U1", "N1", again)), (again + timedelta(minutes=5), send_key("I1", "U1", "N2", again))]


# --- properties ----------------------------------------------------------------------------

minutes = st.integers(0, 600).map(lambda m: T0 + timedelta(minutes=m))
contact = st.builds(ContactRule, rule_id=st.sampled_from(["N1", "N2", "N3", "N4"]), contact_method_id=st.just("C"),
                    contact_type=st.sampled_from([*CHANNELS, "carrier_pigeon"]), address=st.just("a"),
                    delay_minutes=st.integers(0, 60), urgency=st.sampled_from(["high", "low"]))


# Built once, not inside every draw: Hypothesis validates each new strategy object when first
# drawn from, which cost more than the planning under test (the examples drawn are the same).
USERS = st.lists(st.sampled_from(["U1", "U2", "U3"]), unique=True, max_size=3)
CONTACTS = st.lists(contact, max_size=4)
STATUSES = st.sampled_from(["triggered", "acknowledged", "resolved"])
URGENCIES = st.sampled_from(["high", "low"])
MAYBE_MINUTES = st.none() | minutes
ACK_TIMEOUTS = st.sampled_from([None, 0, 600])
RESOLVE_TIMEOUTS = st.sampled_from([None, 0, 3600])
ESCALATIONS = st.none() | st.tuples(st.integers(0, 3), st.booleans(), minutes, minutes, MAYBE_MINUTES)


@st.composite
def incidents(draw: st.DrawFn) -> IncidentFacts:
    levels = draw(st.integers(0, 4))
    path: Path = freeze(draw(st.integers(0, 3)), [PolicyRule(f"R{n}", draw(st.integers(1, 60)), ())
                                                  for n in range(levels)])
    users = draw(USERS)
    rules = {u: list({r.rule_id: r for r in draw(CONTACTS)}.values()) for u in users}
    parts = draw(ESCALATIONS)
    escalation = None if parts is None else EscalationFacts(path, *parts)
    return IncidentFacts(
        id="I1", status=draw(STATUSES),
        urgency=draw(URGENCIES), created_at=T0, last_status_change_at=draw(minutes),
        snoozed_until=draw(MAYBE_MINUTES), level=draw(st.integers(1, 5)),
        assignments=tuple((u, draw(minutes)) for u in users), escalation=escalation,
        service=ServiceFacts(draw(ACK_TIMEOUTS), draw(RESOLVE_TIMEOUTS),
                             {"type": "use_support_hours"}, SUPPORT, RAISE),
        rules=rules)


@settings(max_examples=300, deadline=None)
@given(incident=incidents(), now=minutes)
def test_planned_work_follows_the_status(incident: IncidentFacts, now: datetime) -> None:
    p = plan(incident, now)
    assert set(p.timers) <= {ESCALATE, UNACKNOWLEDGE, RESOLVE, URGENCY_CHANGE}
    if incident.status == "resolved":
        assert p.timers == {} and p.sends == ()
    if incident.status != "triggered":
        assert ESCALATE not in p.timers and p.sends == ()
    if incident.status != "acknowledged":
        assert UNACKNOWLEDGE not in p.timers
    esc = incident.escalation
    if ESCALATE in p.timers:
        assert esc is not None and not esc.exhausted and esc.path["rules"]
        assert p.timers[ESCALATE] >= esc.level_started_at
    if URGENCY_CHANGE in p.timers:
        assert incident.urgency == "low" and p.timers[URGENCY_CHANGE] > (esc.opened_at if esc else now)
    assert plan(incident, now) == p  # a function of the facts alone


@settings(max_examples=300, deadline=None)
@given(incident=incidents(), later=st.integers(1, 600))
def test_sends_follow_each_assignees_rules_from_the_anchor(incident: IncidentFacts, later: int) -> None:
    p = plan(incident, T0)
    keys = [s.key for s in p.sends]
    assert len(keys) == len(set(keys))
    renotify = incident.escalation.renotify_at if incident.escalation else None
    assigned = dict(incident.assignments)
    for s in p.sends:
        rule = next(r for r in incident.rules[s.user_id] if r.rule_id == s.rule_id)
        anchor = max(assigned[s.user_id], renotify) if renotify else assigned[s.user_id]
        assert rule.urgency == incident.urgency == s.urgency and s.channel == CHANNELS[rule.contact_type]
        assert s.due_at == anchor + timedelta(minutes=rule.delay_minutes)
        assert s.key == send_key(incident.id, s.user_id, s.rule_id, anchor)
    if incident.status == "triggered":
        wanted = {(u, r.rule_id) for u in assigned for r in incident.rules[u]
                  if r.urgency == incident.urgency and r.contact_type in CHANNELS}
        assert {(s.user_id, s.rule_id) for s in p.sends} == wanted
    if incident.escalation is not None and p.sends:
        # Told again later: every send is new (new keys), none due before the renotification.
        at = max([incident.escalation.renotify_at or T0, *assigned.values()]) + timedelta(minutes=later)
        again = plan(replace(incident, escalation=replace(incident.escalation, renotify_at=at)), T0)
        assert not {s.key for s in again.sends} & set(keys)
        assert all(s.due_at >= at for s in again.sends)
