"""Wire shapes (Pydantic) of services and integrations, apart from the ORM models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from tocsin.http.inputs import WireInput, reject_nulls
from tocsin.schedules.zones import iana_name

IntegrationType = Literal[
    "events_api_v2_inbound_integration",
    "generic_events_api_inbound_integration",
    "generic_email_inbound_integration",
]


class ReferenceIn(WireInput):
    id: str = Field(min_length=1, max_length=16)
    type: str | None = None


class UrgencyBranchIn(WireInput):
    """``during_support_hours`` / ``outside_support_hours``: typed, so ingest never meets garbage."""

    type: Literal["constant", "severity_based"] = "constant"
    urgency: Literal["high", "low", "severity_based"] | None = None


class UrgencyRuleIn(WireInput):
    type: Literal["constant", "use_support_hours", "severity_based"]
    urgency: Literal["high", "low", "severity_based"] | None = None
    during_support_hours: UrgencyBranchIn | None = None
    outside_support_hours: UrgencyBranchIn | None = None

    @model_validator(mode="after")
    def _complete(self) -> UrgencyRuleIn:
        if self.type == "constant" and self.urgency is None:
            raise ValueError("a constant urgency rule needs urgency high, low or severity_based")
        if self.type == "use_support_hours" and (
            self.during_support_hours is None or self.outside_support_hours is None
        ):
            raise ValueError("use_support_hours needs during_support_hours and outside_support_hours")
        return self


class SupportHoursIn(WireInput):
    type: Literal["fixed_time_per_day"] = "fixed_time_per_day"
    time_zone: str
    days_of_week: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1, max_length=7)
    start_time: str = Field(pattern=r"^\d{2}:\d{2}:\d{2}$")
    end_time: str = Field(pattern=r"^\d{2}:\d{2}:\d{2}$")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        iana_name(value)  # ValueError (a 400) unless ingest can compute in this zone
        return value


class NamedTimeIn(WireInput):
    type: Literal["named_time"]
    name: Literal["support_hours_start", "support_hours_end"]


class ScheduledActionIn(WireInput):
    """Raise a low-urgency incident's urgency when support hours start (or end)."""

    type: Literal["urgency_change"]
    at: NamedTimeIn
    to_urgency: Literal["high"]


NOT_NULLABLE = ("name", "status", "incident_urgency_rule", "escalation_policy", "scheduled_actions")


class ServiceFields(WireInput):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=1024)
    status: Literal["active", "warning", "critical", "maintenance", "disabled"] | None = None
    auto_resolve_timeout: int | None = Field(default=None, ge=0, le=60 * 60 * 24 * 365)
    acknowledgement_timeout: int | None = Field(default=None, ge=0, le=60 * 60 * 24 * 7)
    incident_urgency_rule: UrgencyRuleIn | None = None
    support_hours: SupportHoursIn | None = None
    scheduled_actions: list[ScheduledActionIn] | None = Field(default=None, max_length=2)
    escalation_policy: ReferenceIn | None = None

    _no_nulls = reject_nulls(*NOT_NULLABLE)


class ServiceCreate(ServiceFields):
    name: str = Field(min_length=1, max_length=255)


class ServiceCreateBody(WireInput):
    service: ServiceCreate


class ServiceUpdateBody(WireInput):
    service: ServiceFields


class IntegrationFields(WireInput):
    type: IntegrationType | None = None
    name: str | None = Field(default=None, min_length=1, max_length=255)


class IntegrationCreate(IntegrationFields):
    type: IntegrationType = "events_api_v2_inbound_integration"
    # Tocsin extension (admin only, see ``logic.create_integration``): keep an integration key
    # from another system (a PagerDuty account being imported), so monitoring tools need only a
    # new Events URL. The shape the Events API accepts: 32 ASCII letters or digits.
    integration_key: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{32}$")


class IntegrationCreateBody(WireInput):
    integration: IntegrationCreate


class IntegrationUpdateBody(WireInput):
    integration: IntegrationFields
