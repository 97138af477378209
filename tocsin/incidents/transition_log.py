"""Log entries made from transition records: the only way a log entry about an incident's state
is written. Pure (the writers insert the rows): each record yields at most one entry, none for
a change PagerDuty writes no entry for (a title, a conference bridge, alerts moved in).

Types stay within PagerDuty's published ``LogEntry.type`` list: a merge resolves its source with a
``resolve_log_entry`` (PagerDuty lists the reason as "merged"), a reassignment to users is an
``assign_log_entry``, to another policy a ``delegate_log_entry``, and a priority change a
``field_value_change_log_entry`` whose channel carries the change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from tocsin.ids import new_id
from tocsin.incidents.transition_records import (
    Acknowledged,
    AlertsMoved,
    Annotated,
    Assigned,
    ConferenceBridgeChanged,
    Delegated,
    Escalated,
    HandedOver,
    Merged,
    Notified,
    PathExhausted,
    PathRepeated,
    PriorityChanged,
    Reassigned,
    Record,
    Reopened,
    Resolved,
    Snoozed,
    TitleChanged,
    Triggered,
    Unacknowledged,
    UrgencyChanged,
)

LOG_TYPES: dict[type[Record], str | None] = {
    Triggered: "trigger_log_entry",
    Reopened: "trigger_log_entry",
    Acknowledged: "acknowledge_log_entry",
    Unacknowledged: "unacknowledge_log_entry",
    Resolved: "resolve_log_entry",
    Merged: "resolve_log_entry",
    Assigned: "assign_log_entry",
    Reassigned: "assign_log_entry",
    Delegated: "delegate_log_entry",
    Escalated: "escalate_log_entry",
    Snoozed: "snooze_log_entry",
    UrgencyChanged: "urgency_change_log_entry",
    PriorityChanged: "field_value_change_log_entry",
    Annotated: "annotate_log_entry",
    PathRepeated: "repeat_escalation_path_log_entry",
    PathExhausted: "exhaust_escalation_path_log_entry",
    Notified: "notify_log_entry",
    # Changes PagerDuty writes no log entry for (its LogEntry types have none): the records still
    # reach the engine and the webhooks (e.g. incident.conference_bridge.updated).
    TitleChanged: None,
    ConferenceBridgeChanged: None,
    AlertsMoved: None,
}


def users_named(records: list[Record]) -> set[str]:
    """Every user id a summary of ``records`` names (load their names before ``log_entry``)."""
    found: set[str] = set()
    for record in records:
        if isinstance(record, Assigned | HandedOver):
            found.update(record.to_users)
        elif isinstance(record, Notified):
            found.add(record.user_id)
    return found


def _names(users: tuple[str, ...], names: Mapping[str, str]) -> str:
    return ", ".join([names.get(u, u) for u in users]) or "nobody"


def _summary(record: Record, names: Mapping[str, str], labels: Mapping[str, str]) -> str:
    if isinstance(record, Assigned):
        return f"Assigned to {_names(record.to_users, names)}."
    if isinstance(record, Reassigned):
        return f"Reassigned to {_names(record.to_users, names)}."
    if isinstance(record, Delegated):
        policy = labels.get(record.policy_id, record.policy_id)
        return f"Reassigned to escalation policy {policy} ({_names(record.to_users, names)})."
    if isinstance(record, Escalated):
        return f"Escalated to level {record.level} ({_names(record.to_users, names)})."
    if isinstance(record, Notified) and not record.summary:
        kind = record.notification_type.removesuffix("_notification").upper()
        return f"Notified {names.get(record.user_id, record.user_id)} by {kind} ({record.address}): {record.status}."
    if isinstance(record, PriorityChanged) and not record.summary:
        if record.to_id is None:
            return "Priority removed."
        return f"Priority changed to {labels.get(record.to_id, record.to_id)}."
    return record.summary


def _channel(record: Record) -> dict[str, Any]:
    if isinstance(record, PriorityChanged):
        change: dict[str, Any] = {"name": "priority", "namespace": "incidents", "old_value": record.from_id}
        if record.to_id is not None:
            change["value"] = record.to_id
        return {**record.channel, "changeset": {"application_fields": [change]}}
    # The record's own mapping, not a copy: nothing changes a row's channel, and the entries of a
    # bundled page share one, which the many-row insert then converts to JSON once.
    return record.channel


def log_entry(
    record: Record, service_id: str, names: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """The ``log_entries`` row for ``record``; None for a change PagerDuty logs nothing for.
    ``names``: user names by id; ``labels``: policy and priority names by id (ids stand in for
    missing ones)."""
    kind = LOG_TYPES[type(record)]  # a record type missing from the table is a KeyError, not silence
    if kind is None:
        return None
    names, labels = names or {}, labels or {}
    return {
        "id": new_id(), "type": kind, "incident_id": record.incident_id,
        "alert_id": getattr(record, "alert_id", None), "service_id": service_id, "created_at": record.at,
        "summary": _summary(record, names, labels), "agent": record.agent, "channel": _channel(record),
    }


def log_entries(
    records: list[Record], service_of: Callable[[str], str], names: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The rows of every record PagerDuty logs, in order (``service_of``: an incident's service id)."""
    rows = [log_entry(r, service_of(r.incident_id), names, labels) for r in records]
    return [row for row in rows if row is not None]


_TICK = timedelta(microseconds=1)


def stamp_in_order(rows: list[dict[str, Any]], last: dict[str, datetime]) -> None:
    """Entries of one incident sharing an instant (one request, one processor batch) are put a
    microsecond apart, so sorting the log by time keeps the order they happened in. ``last``
    carries each incident's latest stamp across calls in one transaction."""
    for row in rows:
        at, previous = row["created_at"], last.get(row["incident_id"])
        if previous is not None and at <= previous:
            at = row["created_at"] = previous + _TICK
        last[row["incident_id"]] = at
