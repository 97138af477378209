"""Wire shapes (Pydantic) of incident, note, snooze, merge, alert and priority requests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

MAX_BULK = 250  # PUT /incidents and PUT /incidents/{id}/alerts; more is 413
MAX_NOTE = 25_000
MAX_SNOOZE = 7 * 24 * 3600
MAX_TITLE = 1024
Id = Annotated[str, Field(min_length=1, max_length=16)]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ReferenceIn(_In):
    id: Id
    type: str | None = Field(default=None, max_length=64)


class AssignmentIn(_In):
    assignee: ReferenceIn


class PriorityReferenceIn(_In):
    id: Id
    type: Literal["priority", "priority_reference"] | None = None
    name: str | None = None


class IncidentBodyIn(_In):
    type: Literal["incident_body"] = "incident_body"
    details: str | None = Field(default=None, max_length=65_535)


class ConferenceBridgeIn(_In):
    conference_number: str | None = Field(default=None, max_length=100)
    conference_url: str | None = Field(default=None, max_length=1024)


class _Exclusive(_In):
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


class IncidentCreateBody(_In):
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

    @field_validator("title", "status", "urgency", mode="before")
    @classmethod
    def _no_explicit_nulls(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


class IncidentUpdateBody(_In):
    incident: IncidentUpdate


class IncidentBulkItem(IncidentUpdate):
    id: Id


class IncidentBulkBody(_In):
    # Items are validated one by one in the route, so an error names its index and an
    # oversized list is 413 rather than a validation error.
    incidents: list[Any]


class NoteIn(_In):
    content: str = Field(min_length=1, max_length=MAX_NOTE)


class NoteBody(_In):
    note: NoteIn


class SnoozeBody(_In):
    duration: StrictInt = Field(ge=1, le=MAX_SNOOZE)


class MergeBody(_In):
    source_incidents: list[ReferenceIn] = Field(min_length=1, max_length=MAX_BULK)


class AlertUpdate(_In):
    status: Literal["resolved", "triggered"] | None = None
    incident: ReferenceIn | None = None


class AlertUpdateBody(_In):
    alert: AlertUpdate


class AlertBulkItem(AlertUpdate):
    id: Id


class AlertBulkBody(_In):
    alerts: list[Any]


class PriorityFields(_In):
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


class PriorityCreateBody(_In):
    priority: PriorityCreate


class PriorityUpdateBody(_In):
    priority: PriorityFields
