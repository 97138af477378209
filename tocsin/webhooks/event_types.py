"""Which v3 event each incident change is, and which event types a subscription may ask for
(pure: no I/O).

A record of the transition seam (``incidents.transition_records``) maps to at most one event.
Changes PagerDuty sends no v3 event for map to none: a trigger deduplicated onto an open alert,
the first assignment (``incident.triggered`` and ``incident.reopened`` carry the assignees), a
snooze, an urgency or title change, a send's outcome, alerts moved, the escalation path
repeating or running out (``incident.escalated`` reports each level reached).

``incident.responder.added`` exists in the vocabulary (subscriptions may list it) but Tocsin has
no responder requests yet, so nothing emits it.
"""

from __future__ import annotations

from tocsin.incidents.transition_records import (
    Acknowledged,
    Annotated,
    ConferenceBridgeChanged,
    Delegated,
    Escalated,
    PriorityChanged,
    Reassigned,
    Record,
    Reopened,
    Resolved,
    Triggered,
    Unacknowledged,
)

TRIGGERED = "incident.triggered"
ACKNOWLEDGED = "incident.acknowledged"
UNACKNOWLEDGED = "incident.unacknowledged"
RESOLVED = "incident.resolved"
REOPENED = "incident.reopened"
ESCALATED = "incident.escalated"
REASSIGNED = "incident.reassigned"
DELEGATED = "incident.delegated"
ANNOTATED = "incident.annotated"
PRIORITY_UPDATED = "incident.priority_updated"
CONFERENCE_BRIDGE_UPDATED = "incident.conference_bridge.updated"
RESPONDER_ADDED = "incident.responder.added"
SERVICE_CREATED = "service.created"
SERVICE_UPDATED = "service.updated"
SERVICE_DELETED = "service.deleted"
PING = "pagey.ping"

# What Tocsin emits.
INCIDENT_EVENTS = (TRIGGERED, ACKNOWLEDGED, UNACKNOWLEDGED, RESOLVED, REOPENED, ESCALATED, REASSIGNED, DELEGATED,
                   ANNOTATED, PRIORITY_UPDATED, CONFERENCE_BRIDGE_UPDATED)
SERVICE_EVENTS = (SERVICE_CREATED, SERVICE_UPDATED, SERVICE_DELETED)
# What a subscription may list: PagerDuty's v3 event types, those Tocsin never emits included,
# so a subscription made for PagerDuty is accepted unchanged (it simply never gets those).
SUBSCRIBABLE = frozenset({
    *INCIDENT_EVENTS, *SERVICE_EVENTS, RESPONDER_ADDED,
    "incident.responder.replied", "incident.status_update_published", "incident.custom_field_values.updated",
    "incident.incident_type.changed", "incident.service_updated", "incident.workflow.started",
    "incident.workflow.completed",
})

# Records that are a subclass of another must come first (Merged is a Resolved).
_BY_RECORD: tuple[tuple[type[Record], str], ...] = (
    (Reopened, REOPENED),
    (Acknowledged, ACKNOWLEDGED),
    (Unacknowledged, UNACKNOWLEDGED),
    (Resolved, RESOLVED),
    (Reassigned, REASSIGNED),
    (Delegated, DELEGATED),
    (Escalated, ESCALATED),
    (Annotated, ANNOTATED),
    (PriorityChanged, PRIORITY_UPDATED),
    (ConferenceBridgeChanged, CONFERENCE_BRIDGE_UPDATED),
)


def event_type(record: Record) -> str | None:
    """The v3 event ``record`` is, or None when PagerDuty sends none for it."""
    if isinstance(record, Triggered):
        return TRIGGERED if record.opened else None
    for kind, name in _BY_RECORD:
        if isinstance(record, kind):
            return name
    return None
