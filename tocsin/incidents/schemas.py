"""Wire shapes (Pydantic) of incident, note, snooze, merge, alert and priority requests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, field_validator, model_validator

from tocsin.http.inputs import WireInput, reject_nulls

MAX_BULK = 250  # PUT /incidents and PUT /incidents/{id}/alerts; more is 413
MAX_NOTE = 25_000
MAX_SNOOZE = 7 * 24 * 3600
MAX_TITLE = 1024
Id = Annotated[str, Field(min_length=1, max_length=16)]


class ReferenceIn(WireInput):
    id: Id
    type: str | None = Field(default=None, max_length=64)


class AssignmentIn(WireInput):
    assignee: ReferenceIn


class PriorityReferenceIn(WireInput):
    id: Id
    type: Literal["priority", "priority_reference"] | None = None
    name: str | None = None


class IncidentBodyIn(WireInput):
    type: Literal["incident_body"] = "incident_body"
    details: str | None = Field(default=None, max_length=65_535)


class ConferenceBridgeIn(WireInput):
    conference_number: str | None = Field(default=None, max_length=100)
    conference_url: str | None = Field(default=None, max_length=1024)


class _Exclusive(WireInput):
    @model_validator(mode="after")
    def _assignments_xor_policy(self) -> Any:
        if getattr(self, "assignments", None) and getattr(self, "escalation_policy", None):
            raise ValueError("assignments and escalation_policy cannot both be given")
        return self


class IncidentCreate(_Exclusive):
    type: Literal["incident"]
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    service: ReferenceIn
    urgency: Literal["high", "low"] | None = None
    priority: PriorityReferenceIn | None = None
    body: IncidentBodyIn | None = None
    incident_key: str | None = Field(default=None, min_length=1, max_length=255)
    assignments: list[AssignmentIn] | None = Field(default=None, max_length=100)
    escalation_policy: ReferenceIn | None = None
    conference_bridge: ConferenceBridgeIn | None = None


class IncidentCreateBody(WireInput):
    incident: IncidentCreate


class IncidentUpdate(_Exclusive):
    type: Literal["incident", "incident_reference"] = "incident"
    status: Literal["triggered", "acknowledged", "resolved"] | None = None
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    urgency: Literal["high", "low"] | None = None
    resolution: str | None = Field(default=None, max_length=MAX_NOTE)
    # A reference, or a name ("P1"): the highest priority with that name.
    priority: PriorityReferenceIn | Annotated[str, Field(min_length=1, max_length=50)] | None = None
    escalation_level: StrictInt | None = Field(default=None, ge=1)
    assignments: list[AssignmentIn] | None = Field(default=None, min_length=1, max_length=100)
    escalation_policy: ReferenceIn | None = None
    conference_bridge: ConferenceBridgeIn | None = None

    _no_nulls = reject_nulls("title", "status", "urgency")


class IncidentUpdateBody(WireInput):
    incident: IncidentUpdate


class IncidentBulkItem(IncidentUpdate):
    id: Id


class IncidentBulkBody(WireInput):
    # Items are validated one by one in the route, so an error names its index and an
    # oversized list is 413 rather than a validation error.
    incidents: list[Any]


class NoteIn(WireInput):
    content: str = Field(min_length=1, max_length=MAX_NOTE)


class NoteBody(WireInput):
    note: NoteIn


class SnoozeBody(WireInput):
    duration: StrictInt = Field(ge=1, le=MAX_SNOOZE)


class MergeBody(WireInput):
    source_incidents: list[ReferenceIn] = Field(min_length=1, max_length=MAX_BULK)


class AlertUpdate(WireInput):
    status: Literal["resolved", "triggered"] | None = None
    incident: ReferenceIn | None = None


class AlertUpdateBody(WireInput):
    alert: AlertUpdate


class AlertBulkItem(AlertUpdate):
    id: Id


class AlertBulkBody(WireInput):
    alerts: list[Any]


class PriorityFields(WireInput):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=1024)
    color: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{6}$")

    @field_validator("name", mode="before")
    @classmethod
    def _name_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


class PriorityCreate(PriorityFields):
    name: str = Field(min_length=1, max_length=50)


class PriorityCreateBody(WireInput):
    priority: PriorityCreate


class PriorityUpdateBody(WireInput):
    priority: PriorityFields
