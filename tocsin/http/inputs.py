"""What every PagerDuty request body model shares (Pydantic)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


class WireInput(BaseModel):
    """Base of request bodies. Unknown fields are ignored: PagerDuty clients often GET a resource
    and PUT it back whole, read-only fields (``id``, ``self``, ``html_url`` …) included.

    Text holding a NUL character is refused in every field, however deep: PostgreSQL cannot store
    it and SQLite could, so refusing it on both keeps one body meaning one thing on either backend.
    """

    model_config = ConfigDict(extra="ignore")

    @field_validator("*")  # after validation: nested models have already checked their own fields
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        if _holds_nul(value):
            raise ValueError("NUL characters are not allowed in text")
        return value


def _holds_nul(value: Any) -> bool:
    """Whether text in ``value`` holds NUL; nested models are not entered (they check themselves)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


def _refuse_null(cls: type, value: Any) -> Any:
    if value is None:
        raise ValueError("cannot be null")
    return value


def reject_nulls(*fields: str) -> Any:
    """A validator for optional fields that may be left out but not sent as null.

    It runs only for values actually sent, so omitting a field on update keeps the stored value,
    while an explicit null (which would erase a required value) is a 400 naming the field.
    Use as ``_no_nulls = reject_nulls("name", "status")`` in the model's body.
    """
    return field_validator(*fields, mode="before")(_refuse_null)


def field_errors(error: ValidationError, prefix: str) -> list[str]:
    """One message per problem, named by its path under ``prefix`` (``incidents[2].status: ...``),
    for items validated one by one inside a bulk body."""
    return [
        f"{'.'.join([prefix, *(str(p) for p in e['loc'])])}: {e['msg']}" for e in error.errors()
    ]
