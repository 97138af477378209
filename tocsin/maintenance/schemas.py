"""Request bodies of /maintenance_windows (Pydantic), apart from the ORM models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from tocsin.http.inputs import WireInput, reject_nulls
from tocsin.http.params import in_supported_range


def _aware(value: datetime) -> datetime:
    # A time without an offset is taken as UTC, as elsewhere in the API.
    return in_supported_range(value if value.tzinfo is not None else value.replace(tzinfo=UTC))


Instant = Annotated[datetime, AfterValidator(_aware)]


class ServiceReferenceIn(WireInput):
    id: str = Field(min_length=1, max_length=16)
    type: Literal["service_reference", "service"] | None = None


NOT_NULLABLE = ("start_time", "end_time", "services")


class WindowFields(WireInput):
    type: Literal["maintenance_window"] | None = None
    start_time: Instant | None = None
    end_time: Instant | None = None
    description: str | None = Field(default=None, max_length=1024)
    services: list[ServiceReferenceIn] | None = Field(default=None, min_length=1, max_length=100)

    _no_nulls = reject_nulls(*NOT_NULLABLE)


class WindowCreate(WindowFields):
    start_time: Instant
    end_time: Instant
    services: list[ServiceReferenceIn] = Field(min_length=1, max_length=100)


class WindowCreateBody(WireInput):
    maintenance_window: WindowCreate


class WindowUpdateBody(WireInput):
    maintenance_window: WindowFields
