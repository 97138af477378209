"""Request bodies of /maintenance_windows (Pydantic), apart from the ORM models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from tocsin.http.params import in_supported_range


def _aware(value: datetime) -> datetime:
    # A time without an offset is taken as UTC, as elsewhere in the API.
    return in_supported_range(value if value.tzinfo is not None else value.replace(tzinfo=UTC))


Instant = Annotated[datetime, AfterValidator(_aware)]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ServiceReferenceIn(_In):
    id: str = Field(min_length=1, max_length=16)
    type: Literal["service_reference", "service"] | None = None


NOT_NULLABLE = ("start_time", "end_time", "services")


class WindowFields(_In):
    type: Literal["maintenance_window"] | None = None
    start_time: Instant | None = None
    end_time: Instant | None = None
    description: str | None = Field(default=None, max_length=1024)
    services: list[ServiceReferenceIn] | None = Field(default=None, min_length=1, max_length=100)

    @field_validator(*NOT_NULLABLE, mode="before")
    @classmethod
    def _no_explicit_nulls(cls, value: Any) -> Any:
        # Runs only for values actually sent: omitting a field on update is fine, null is not.
        if value is None:
            raise ValueError("cannot be null")
        return value


class WindowCreate(WindowFields):
    start_time: Instant
    end_time: Instant
    services: list[ServiceReferenceIn] = Field(min_length=1, max_length=100)


class WindowCreateBody(_In):
    maintenance_window: WindowCreate


class WindowUpdateBody(_In):
    maintenance_window: WindowFields
