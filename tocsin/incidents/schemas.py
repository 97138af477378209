"""Wire shapes (Pydantic) of incident updates."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IncidentUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["incident", "incident_reference"] = "incident"
    status: Literal["triggered", "acknowledged", "resolved"] | None = None
    title: str | None = Field(default=None, min_length=1, max_length=1024)
    urgency: Literal["high", "low"] | None = None
    resolution: str | None = Field(default=None, max_length=65535)


class IncidentUpdateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    incident: IncidentUpdate
