"""The v3 webhook bodies, field by field as PagerDuty sends them (pure: no I/O).

One event per POST: ``{"event": {"id", "event_type", "resource_type", "occurred_at", "agent",
"client", "data"}}``. ``data`` is, per resource:

- incident events: the webhook incident object (``id``, ``type`` "incident", ``self``,
  ``html_url``, ``number``, ``status``, ``incident_key``, ``created_at``, ``title``, ``service``,
  ``assignees``, ``escalation_policy``, ``teams``, ``priority``, ``urgency``,
  ``conference_bridge``, ``resolve_reason``), references carrying ``summary``, ``self`` and
  ``html_url``;
- ``incident.annotated``: the note (``incident`` reference, ``id``, ``content``, ``trimmed``,
  ``type`` "incident_note");
- ``incident.conference_bridge.updated``: the bridge (``incident`` reference,
  ``conference_number``, ``conference_url``, ``type`` "conference_bridge");
- service events: the service (``id``, ``type`` "service", ``summary``, ``self``, ``html_url``,
  ``name``, ``description``, ``status``, ``escalation_policy``, ``teams``);
- ``pagey.ping``: ``{"message", "type": "ping"}``.

References are built by the caller (it knows the base URL) and passed in whole.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tocsin.webhooks.moments import Moment

Json = dict[str, Any]
PING_MESSAGE = "Hello from your friend Pagey!"
INCIDENT, SERVICE, PAGEY = "incident", "service", "pagey"


def occurred(at: datetime) -> str:
    """``2020-10-02T18:45:22.169Z``: UTC with milliseconds, as v3 events stamp them."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


@functools.lru_cache(maxsize=256)
def seconds(at: datetime) -> str:
    """``2020-04-09T15:16:27Z``: UTC to the second, as resources show their times (a processor
    batch's incidents share one instant: formatted once)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def envelope(event_id: str, event_type: str, resource_type: str, at: datetime, agent: Json | None,
             client: Json | None, data: Json) -> Json:
    return {"event": {"id": event_id, "event_type": event_type, "resource_type": resource_type,
                      "occurred_at": occurred(at), "agent": agent, "client": client, "data": data}}


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What an incident event shows besides the fields a ``Moment`` decides."""

    id: str
    number: int
    incident_key: str | None
    created_at: datetime
    self: Json  # the incident's own reference: its self and html_url, and the summary notes use
    service: Json
    escalation_policy: Json | None
    teams: Sequence[Json] = ()
    users: Mapping[str, Json] = field(default_factory=dict)  # user id -> reference
    priorities: Mapping[str, Json] = field(default_factory=dict)  # priority id -> reference
    incidents: Mapping[str, Json] = field(default_factory=dict)  # merge targets -> reference


def _bridge(bridge: Mapping[str, Any] | None) -> Json | None:
    if not bridge:
        return None
    return {"conference_number": bridge.get("conference_number"), "conference_url": bridge.get("conference_url")}


def incident_data(facts: IncidentFacts, moment: Moment) -> Json:
    reason = None
    if moment.status == "resolved" and moment.merged_into_id:
        target = facts.incidents.get(moment.merged_into_id) or {"id": moment.merged_into_id,
                                                                 "type": "incident_reference"}
        reason = {"type": "merge_resolve_reason", "incident": target}
    return {
        "id": facts.id,
        "type": "incident",
        "self": facts.self["self"],
        "html_url": facts.self["html_url"],
        "number": facts.number,
        "status": moment.status,
        "incident_key": facts.incident_key,
        "created_at": seconds(facts.created_at),
        "title": moment.title,
        "service": facts.service,
        "assignees": [facts.users.get(u) or {"id": u, "type": "user_reference"} for u in moment.assignees],
        "escalation_policy": facts.escalation_policy,
        "teams": list(facts.teams),
        "priority": facts.priorities.get(moment.priority_id) if moment.priority_id else None,
        "urgency": moment.urgency,
        "conference_bridge": _bridge(moment.conference_bridge),
        "resolve_reason": reason,
    }


def note_data(incident: Json, note_id: str | None, content: str) -> Json:
    return {"incident": incident, "id": note_id, "content": content, "trimmed": False, "type": "incident_note"}


def bridge_data(incident: Json, bridge: Mapping[str, Any] | None) -> Json:
    found = _bridge(bridge) or {"conference_number": None, "conference_url": None}
    return {"incident": incident, **found, "type": "conference_bridge"}


def service_data(service: Json, *, name: str, description: str | None, status: str,
                 escalation_policy: Json | None, teams: Sequence[Json]) -> Json:
    return {**service, "type": "service", "name": name, "description": description, "status": status,
            "escalation_policy": escalation_policy, "teams": list(teams)}


def ping_data() -> Json:
    return {"message": PING_MESSAGE, "type": "ping"}
