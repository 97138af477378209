"""Deduplication as a pure function: what a sequence of alert events does, given the open
alerts it may touch. No I/O; ``tocsin.incidents.ingest`` loads the inputs and applies the plan.

Rules (SPEC-NOTES section 1):
- a trigger whose dedup key matches an open alert of the same integration adds a trigger log
  entry to that alert; otherwise it opens a new alert (and, for now, a new incident);
- acknowledge acts on the open alert's incident if it is still triggered;
- resolve closes the open alert; after that the same key opens a new alert;
- acknowledge/resolve with no open alert for the key is accepted and does nothing.
Events are applied in arrival order, so a trigger, resolve, trigger of one key in a batch
yields two alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["trigger", "acknowledge", "resolve"]
Outcome = Literal["new_alert", "add_trigger", "acknowledge", "resolve", "ignore"]
DedupKey = tuple[str, str]  # (integration_id, dedup_key)


@dataclass(frozen=True, slots=True)
class OpenAlert:
    alert_id: str
    incident_id: str
    incident_status: str  # "triggered" | "acknowledged"


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """An event to plan, with ids pre-drawn in case it opens a new alert and incident."""

    integration_id: str
    action: Action
    dedup_key: str
    new_alert_id: str
    new_incident_id: str


@dataclass(frozen=True, slots=True)
class Step:
    outcome: Outcome
    alert_id: str | None
    incident_id: str | None
    reason: str = ""


def plan(events: list[PlannedEvent], open_alerts: dict[DedupKey, OpenAlert]) -> list[Step]:
    """One step per event, in order. ``open_alerts`` is not modified."""
    state = dict(open_alerts)
    steps: list[Step] = []
    for event in events:
        key = (event.integration_id, event.dedup_key)
        current = state.get(key)
        steps.append(_step(event, current))
        _advance(state, key, event, current)
    return steps


def _step(event: PlannedEvent, current: OpenAlert | None) -> Step:
    if event.action == "trigger":
        if current is None:
            return Step("new_alert", event.new_alert_id, event.new_incident_id)
        return Step("add_trigger", current.alert_id, current.incident_id)
    if current is None:
        return Step("ignore", None, None, "no open alert for this dedup key")
    if event.action == "acknowledge":
        if current.incident_status != "triggered":
            return Step("ignore", current.alert_id, current.incident_id, "already acknowledged")
        return Step("acknowledge", current.alert_id, current.incident_id)
    return Step("resolve", current.alert_id, current.incident_id)


def _advance(
    state: dict[DedupKey, OpenAlert], key: DedupKey, event: PlannedEvent, current: OpenAlert | None
) -> None:
    if event.action == "trigger" and current is None:
        state[key] = OpenAlert(event.new_alert_id, event.new_incident_id, "triggered")
    elif event.action == "acknowledge" and current is not None:
        state[key] = OpenAlert(current.alert_id, current.incident_id, "acknowledged")
    elif event.action == "resolve" and current is not None:
        del state[key]
