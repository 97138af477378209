"""What an incident should have pending, from its facts (pure).

``plan(facts)`` gives the incident's desired timers (PagerDuty's ``pending_actions``: escalate,
unacknowledge, resolve, urgency_change, each with its due time) and its desired sends to people.
The planner (``tocsin.engine.planner``) makes the database match: timers replaced, sends not yet
made inserted, pending sends no longer wanted cancelled. Rules:

- resolved: nothing.
- triggered: escalate when the current level's delay has passed since it started, unless the
  path is exhausted or empty; a level that assigned nobody (a schedule with a gap) escalates at
  once, as PagerDuty skips a level with nobody on call.
- acknowledged: unacknowledge when the snooze ends, else when the service's
  ``acknowledgement_timeout`` passes after the acknowledgement (0/None: never).
- open: resolve when ``auto_resolve_timeout`` has passed since the incident (re)opened; low
  urgency on a service whose rule uses support hours and whose ``scheduled_actions`` raise it:
  urgency_change at the next support-hours start (or end, as the action names).
- sends, only while triggered: every assignee's notification rules for the incident's urgency,
  each ``start_delay_in_minutes`` after the anchor = max(assigned at, renotify_at). The key names
  the incident, user, rule and anchor, so a send is made once whoever plans it, and a new
  anchor (a new assignment, an acknowledgement timeout, a snooze end, urgency raised) makes new
  sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tocsin.engine.path import Path, clamp_level, delay_of
from tocsin.services.urgency import next_support_hours_end, next_support_hours_start

# Timer kinds and send channels: the values of tocsin.engine.models / tocsin.notifications.models
# (this module stays free of database code; tests check they agree).
ESCALATE, UNACKNOWLEDGE, RESOLVE, URGENCY_CHANGE = "escalate", "unacknowledge", "resolve", "urgency_change"
CHANNELS = {
    "email_contact_method": "email",
    "sms_contact_method": "sms",
    "phone_contact_method": "phone",
    "push_notification_contact_method": "push",
}


@dataclass(frozen=True, slots=True)
class EscalationFacts:
    path: Path
    loop: int
    exhausted: bool
    level_started_at: datetime
    opened_at: datetime
    renotify_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    acknowledgement_timeout: int | None = None  # seconds; 0/None: off
    auto_resolve_timeout: int | None = None
    urgency_rule: Mapping[str, Any] | None = None
    support_hours: Mapping[str, Any] | None = None
    scheduled_actions: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True, slots=True)
class ContactRule:
    """One notification rule of a user with the contact method it goes through."""

    rule_id: str
    contact_method_id: str
    contact_type: str  # email_contact_method | sms_contact_method | ...
    address: str
    delay_minutes: int
    urgency: str


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    id: str
    status: str
    urgency: str
    created_at: datetime
    last_status_change_at: datetime
    snoozed_until: datetime | None = None
    level: int = 1
    assignments: tuple[tuple[str, datetime], ...] = ()  # (user, assigned at)
    escalation: EscalationFacts | None = None
    service: ServiceFacts = field(default_factory=ServiceFacts)
    rules: Mapping[str, Sequence[ContactRule]] = field(default_factory=dict)  # by user


@dataclass(frozen=True, slots=True)
class Send:
    key: str
    incident_id: str
    user_id: str
    rule_id: str
    contact_method_id: str
    channel: str
    address: str
    urgency: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Plan:
    timers: dict[str, datetime]
    sends: tuple[Send, ...]


NOTHING = Plan({}, ())


def send_key(incident_id: str, user_id: str, rule_id: str, anchor: datetime) -> str:
    return f"inc:{incident_id}:{user_id}:{rule_id}:{anchor.astimezone(UTC).isoformat()}"


def plan(facts: IncidentFacts, now: datetime) -> Plan:
    """The incident's desired timers and sends. ``now`` only stands in for when the incident
    opened if it has no escalation row yet."""
    if facts.status == "resolved":
        return NOTHING
    timers: dict[str, datetime] = {}
    escalation = facts.escalation
    if facts.status == "triggered":
        if (due := _escalate_at(facts)) is not None:
            timers[ESCALATE] = due
    elif facts.status == "acknowledged":
        if facts.snoozed_until is not None:
            timers[UNACKNOWLEDGE] = facts.snoozed_until
        elif facts.service.acknowledgement_timeout:
            timers[UNACKNOWLEDGE] = facts.last_status_change_at + timedelta(
                seconds=facts.service.acknowledgement_timeout)
    opened = escalation.opened_at if escalation is not None else facts.created_at
    if facts.service.auto_resolve_timeout:
        timers[RESOLVE] = opened + timedelta(seconds=facts.service.auto_resolve_timeout)
    if (raise_at := _urgency_change_at(facts, escalation, now)) is not None:
        timers[URGENCY_CHANGE] = raise_at
    return Plan(timers, _sends(facts) if facts.status == "triggered" else ())


def _escalate_at(facts: IncidentFacts) -> datetime | None:
    escalation = facts.escalation
    if escalation is None or escalation.exhausted:
        return None
    delay = delay_of(escalation.path, clamp_level(escalation.path, facts.level))
    if delay is None:
        return None
    if not facts.assignments:  # nobody at this level: move on at once
        return escalation.level_started_at
    return escalation.level_started_at + delay


def _urgency_change_at(facts: IncidentFacts, escalation: EscalationFacts | None, now: datetime) -> datetime | None:
    service = facts.service
    rule = service.urgency_rule or {}
    if facts.urgency != "low" or rule.get("type") != "use_support_hours" or not service.support_hours:
        return None
    # From when the incident (re)opened or its urgency last changed: a low incident waiting
    # since before support hours began is raised at once; one lowered by hand during support
    # hours waits for the next start.
    after = now if escalation is None else max(escalation.opened_at, escalation.renotify_at or escalation.opened_at)
    found: list[datetime] = []
    for action in service.scheduled_actions:
        at = action.get("at") or {}
        if action.get("type") != "urgency_change" or action.get("to_urgency") != "high":
            continue
        if at.get("name") == "support_hours_start":
            due = next_support_hours_start(dict(service.support_hours), after)
        elif at.get("name") == "support_hours_end":
            due = next_support_hours_end(dict(service.support_hours), after)
        else:
            continue
        if due is not None:
            found.append(due)
    return min(found, default=None)


def _sends(facts: IncidentFacts) -> tuple[Send, ...]:
    renotify = facts.escalation.renotify_at if facts.escalation is not None else None
    sends: list[Send] = []
    for user_id, assigned_at in facts.assignments:
        anchor = max(assigned_at, renotify) if renotify is not None else assigned_at
        for rule in facts.rules.get(user_id, ()):
            channel = CHANNELS.get(rule.contact_type)
            if rule.urgency != facts.urgency or channel is None:
                continue
            sends.append(Send(
                key=send_key(facts.id, user_id, rule.rule_id, anchor), incident_id=facts.id, user_id=user_id,
                rule_id=rule.rule_id, contact_method_id=rule.contact_method_id, channel=channel,
                address=rule.address, urgency=facts.urgency,
                due_at=anchor + timedelta(minutes=rule.delay_minutes)))
    return tuple(sends)
