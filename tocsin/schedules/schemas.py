"""Wire shapes (Pydantic input) of schedules, layers, restrictions and overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from tocsin.http.inputs import WireInput, reject_nulls
from tocsin.http.params import in_supported_range
from tocsin.schedules.zones import iana_name

WEEK_SECONDS = 7 * 86_400


Stamp = Annotated[datetime, AfterValidator(in_supported_range)]


def valid_zone(value: str) -> str:
    """An IANA name or an ActiveSupport name (as PagerDuty takes), kept exactly as given."""
    iana_name(value)
    return value


class ReferenceIn(WireInput):
    id: str = Field(min_length=1, max_length=16)
    type: str | None = None


class TeamIn(WireInput):
    id: str = Field(min_length=1, max_length=16)
    type: Literal["team_reference", "team"] | None = None


MAX_TEAMS = 10  # as many as an escalation policy may name


class LayerUserIn(WireInput):
    user: ReferenceIn


class RestrictionIn(WireInput):
    type: Literal["daily_restriction", "weekly_restriction"]
    start_time_of_day: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$")
    duration_seconds: int = Field(ge=0, le=WEEK_SECONDS)
    start_day_of_week: int | None = Field(default=None, ge=1, le=7)

    @model_validator(mode="after")
    def _weekly_needs_day(self) -> RestrictionIn:
        if self.type == "weekly_restriction" and self.start_day_of_week is None:
            raise ValueError("weekly_restriction needs start_day_of_week (1=Monday .. 7=Sunday)")
        if self.type == "daily_restriction" and self.duration_seconds > 86_400:
            raise ValueError("a daily_restriction lasts at most 86400 seconds")
        return self


class LayerIn(WireInput):
    id: str | None = Field(default=None, max_length=16)  # an existing layer's id on update
    name: str | None = Field(default=None, max_length=255)
    start: Stamp
    end: Stamp | None = None
    users: list[LayerUserIn] = Field(min_length=1, max_length=500)
    rotation_virtual_start: Stamp | None = None  # defaults to start
    rotation_turn_length_seconds: int = Field(ge=1, le=10 * 366 * 86_400)
    restrictions: list[RestrictionIn] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _ends_after_start(self) -> LayerIn:
        if self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ScheduleFields(WireInput):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    time_zone: str | None = None
    description: str | None = Field(default=None, max_length=1024)
    schedule_layers: list[LayerIn] | None = Field(default=None, min_length=1, max_length=50)
    teams: list[TeamIn] | None = Field(default=None, max_length=MAX_TEAMS)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else valid_zone(value)

    _no_nulls = reject_nulls("name", "time_zone", "schedule_layers", "teams")


class ScheduleCreate(ScheduleFields):
    name: str = Field(min_length=1, max_length=255)
    time_zone: str = "Etc/UTC"
    schedule_layers: list[LayerIn] = Field(min_length=1, max_length=50)


class ScheduleCreateBody(WireInput):
    schedule: ScheduleCreate


class SchedulePreview(ScheduleCreate):
    name: str = Field(default="Preview", min_length=1, max_length=255)


class SchedulePreviewBody(WireInput):
    schedule: SchedulePreview


class ScheduleUpdateBody(WireInput):
    schedule: ScheduleFields


class OverrideIn(WireInput):
    """An override's shape. Whether it makes sense (end after start, a known user) is checked by
    ``override_logic.create_override``, after wall-clock times are placed in the schedule's zone; so a batch
    refuses a malformed item outright and a well-formed but refused one item by item."""

    start: Stamp
    end: Stamp
    user: ReferenceIn


class OverridesBody(WireInput):
    """``{"override": {...}}`` or ``{"overrides": [...]}`` (1 to 100); batch items are validated
    one by one."""

    override: OverrideIn | None = None
    overrides: list[Any] | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _exactly_one(self) -> OverridesBody:
        if (self.override is None) == (self.overrides is None):
            raise ValueError("send either override or overrides")
        return self
