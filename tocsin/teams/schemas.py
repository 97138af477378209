"""Wire shapes (Pydantic) of teams and memberships as clients send them."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from tocsin.http.inputs import WireInput, reject_nulls


class ReferenceIn(WireInput):
    id: str = Field(min_length=1, max_length=16)
    type: str | None = None


class TeamFields(WireInput):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1024)
    default_role: Literal["manager", "none"] | None = None
    parent: ReferenceIn | None = None

    _no_nulls = reject_nulls("name", "default_role")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None


class TeamCreate(TeamFields):
    name: str = Field(min_length=1, max_length=100)


class TeamCreateBody(WireInput):
    team: TeamCreate


class TeamUpdateBody(WireInput):
    team: TeamFields


class MembershipBody(WireInput):
    role: Literal["observer", "responder", "manager"] | None = None
