"""Wire shapes (Pydantic) of teams and memberships as clients send them."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ReferenceIn(_In):
    id: str = Field(min_length=1, max_length=16)
    type: str | None = None


class TeamFields(_In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1024)
    default_role: Literal["manager", "none"] | None = None
    parent: ReferenceIn | None = None

    @field_validator("name", "default_role", mode="before")
    @classmethod
    def _no_explicit_nulls(cls, value: Any) -> Any:
        # Runs only for values actually sent: omitting a field is fine, sending null is not.
        if value is None:
            raise ValueError("cannot be null")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None


class TeamCreate(TeamFields):
    name: str = Field(min_length=1, max_length=100)


class TeamCreateBody(_In):
    team: TeamCreate


class TeamUpdateBody(_In):
    team: TeamFields


class MembershipBody(_In):
    role: Literal["observer", "responder", "manager"] | None = None
