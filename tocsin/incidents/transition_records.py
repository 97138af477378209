"""The vocabulary of the transition seam (``incidents.transitions``): the snapshot of an incident
it reads, the commands it is given, and the frozen records of what changed that it returns.

Records are what the log (``transition_log``), the engine and the webhooks outbox consume; each
carries its incident, time, agent and channel. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Ref = dict[str, Any]  # {"id", "type"}: a user, service or integration reference


# --- records: what changed ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Record:
    incident_id: str
    at: datetime
    agent: Ref | None
    channel: Ref
    summary: str


@dataclass(frozen=True, slots=True)
class Triggered(Record):
    """A trigger: ``opened`` when it opened the incident, else a trigger added to an open alert."""

    alert_id: str | None = None
    opened: bool = True


@dataclass(frozen=True, slots=True)
class Reopened(Record):
    policy_id: str | None = None  # reopened under another policy (None: the current one)


@dataclass(frozen=True, slots=True)
class Acknowledged(Record):
    acknowledger: Ref = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Unacknowledged(Record):
    pass


@dataclass(frozen=True, slots=True)
class Resolved(Record):
    alert_id: str | None = None


@dataclass(frozen=True, slots=True)
class Merged(Resolved):
    """The incident was resolved by merging it into ``into_id``."""

    into_id: str = ""


@dataclass(frozen=True, slots=True)
class Assigned(Record):
    """First assignment (a new or reopened incident)."""

    to_users: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HandedOver(Record):
    """The assignees changed on an open incident: the shape shared by reassigning, delegating and
    escalating."""

    from_users: tuple[str, ...] = ()
    to_users: tuple[str, ...] = ()
    retriggered: bool = False  # an acknowledged incident went back to triggered


@dataclass(frozen=True, slots=True)
class Reassigned(HandedOver):
    pass


@dataclass(frozen=True, slots=True)
class Delegated(HandedOver):
    """Reassigned to (level 1 of) another escalation policy."""

    policy_id: str = ""


@dataclass(frozen=True, slots=True)
class Escalated(HandedOver):
    level: int = 1


@dataclass(frozen=True, slots=True)
class Snoozed(Record):
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class UrgencyChanged(Record):
    urgency: str = "high"


@dataclass(frozen=True, slots=True)
class PriorityChanged(Record):
    from_id: str | None = None
    to_id: str | None = None


@dataclass(frozen=True, slots=True)
class TitleChanged(Record):
    """The title (and the description, which REST keeps equal to it) changed."""

    from_title: str = ""
    to_title: str = ""


@dataclass(frozen=True, slots=True)
class ConferenceBridgeChanged(Record):
    """``to_bridge`` None: the bridge was removed."""

    from_bridge: Ref | None = None
    to_bridge: Ref | None = None


@dataclass(frozen=True, slots=True)
class AlertsMoved(Record):
    """The incident received alerts from ``from_incident_id`` (a merge, or one alert moved)."""

    from_incident_id: str = ""
    alert_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Annotated(Record):
    pass


@dataclass(frozen=True, slots=True)
class PathRepeated(Record):
    """The escalation path ran out of levels and starts again at level 1 (``loop``: 1 for the
    first repeat, up to the policy's ``num_loops``)."""

    loop: int = 1


@dataclass(frozen=True, slots=True)
class PathExhausted(Record):
    """The last level of the last loop passed unacknowledged: escalation stops, the last
    assignees keep the incident."""


@dataclass(frozen=True, slots=True)
class Notified(Record):
    """A send to a person reached its outcome; changes no state. ``notification_type`` is
    PagerDuty's (``email_notification``, ``sms_notification``, ``phone_notification`` ...), ``status``
    the outcome (``success``, ``failed`` ...)."""

    user_id: str = ""
    notification_type: str = ""
    address: str = ""
    status: str = ""


# --- the snapshot ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IncidentState:
    """The fields of an incident that transitions read and change."""

    id: str
    status: str
    assignees: tuple[str, ...] = ()
    acknowledgements: tuple[Ref, ...] = ()  # {"at": iso, "acknowledger": ref}
    escalation_level: int = 1
    policy_id: str | None = None
    urgency: str = "high"
    priority_id: str | None = None
    snoozed_until: datetime | None = None
    resolved_at: datetime | None = None
    merged_into_id: str | None = None
    updated_at: datetime | None = None
    last_status_change_at: datetime | None = None
    last_status_change_by: Ref | None = None
    assigned_at: datetime | None = None  # when ``assignees`` last changed
    title: str = ""
    description: str | None = None
    conference_bridge: Ref | None = None


# --- commands -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Act:
    """Who acts, when and through what; shared by every command."""

    at: datetime
    agent: Ref | None
    channel: Ref
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Open:
    """The incident was just created; ``assignees`` None means no assignment step at all."""

    alert_id: str | None = None
    assignees: tuple[str, ...] | None = None
    assign_channel: Ref | None = None  # the assignment's channel when not the trigger's


@dataclass(frozen=True, slots=True)
class AddTrigger:
    alert_id: str


@dataclass(frozen=True, slots=True)
class Acknowledge:
    acknowledger: Ref
    only_if_triggered: bool = False  # events: an acknowledged incident is left alone


@dataclass(frozen=True, slots=True)
class Unacknowledge:
    pass


@dataclass(frozen=True, slots=True)
class Resolve:
    alert_id: str | None = None


@dataclass(frozen=True, slots=True)
class Reopen:
    assignees: tuple[str, ...] | None = None
    policy_id: str | None = None  # a new policy to reopen with (None keeps the current one)


@dataclass(frozen=True, slots=True)
class Reassign:
    users: tuple[str, ...]
    retrigger: bool = True  # an acknowledged incident handed to someone new pages again


@dataclass(frozen=True, slots=True)
class Delegate:
    policy_id: str
    users: tuple[str, ...]
    retrigger: bool = True


@dataclass(frozen=True, slots=True)
class Escalate:
    level: int
    users: tuple[str, ...]
    retrigger: bool = True
    # The engine's timed step: a record even when level and users are unchanged (a one-level
    # path looping to the same people pages them again).
    always: bool = False


@dataclass(frozen=True, slots=True)
class RepeatPath:
    loop: int


@dataclass(frozen=True, slots=True)
class ExhaustPath:
    pass


@dataclass(frozen=True, slots=True)
class Notify:
    user_id: str
    notification_type: str
    address: str
    status: str


@dataclass(frozen=True, slots=True)
class Snooze:
    until: datetime


@dataclass(frozen=True, slots=True)
class SetUrgency:
    urgency: str


@dataclass(frozen=True, slots=True)
class SetPriority:
    priority_id: str | None


@dataclass(frozen=True, slots=True)
class SetTitle:
    title: str


@dataclass(frozen=True, slots=True)
class SetConferenceBridge:
    bridge: Ref | None


@dataclass(frozen=True, slots=True)
class ReceiveAlerts:
    """Alerts of ``from_incident_id`` now belong to this (open) incident."""

    from_incident_id: str
    alert_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Merge:
    into_id: str


@dataclass(frozen=True, slots=True)
class Annotate:
    pass


Command = (Open | AddTrigger | Acknowledge | Unacknowledge | Resolve | Reopen | Reassign | Delegate
           | Escalate | Snooze | SetUrgency | SetPriority | SetTitle | SetConferenceBridge | ReceiveAlerts
           | Merge | Annotate | RepeatPath | ExhaustPath | Notify)
