"""Wire shapes (Pydantic) of users, contact methods and notification rules as clients send them."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from tocsin.http.inputs import WireInput
from tocsin.jsondepth import MAX_NESTING_DEPTH, nests_deeper_than
from tocsin.users.rules import EMAIL, valid_time_zone

Role = Literal[
    "owner", "admin", "user", "limited_user", "observer", "read_only_user",
    "restricted_access", "read_only_limited_user",
]
ContactMethodType = Literal[
    "email_contact_method", "phone_contact_method", "sms_contact_method", "push_notification_contact_method",
]


def _no_null(value: Any) -> Any:
    # Runs only for values actually sent: omitting a field is fine, sending null is not.
    if value is None:
        raise ValueError("cannot be null")
    return value


class UserFields(WireInput):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    email: str | None = Field(default=None, min_length=6, max_length=100)
    time_zone: str | None = Field(default=None, max_length=64)
    color: str | None = Field(default=None, min_length=1, max_length=32)
    role: Role | None = None
    description: str | None = Field(default=None, max_length=1024)
    job_title: str | None = Field(default=None, max_length=100)

    _not_nullable = field_validator("name", "email", "time_zone", "color", "role", mode="before")(
        classmethod(lambda cls, v: _no_null(v)))

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if not EMAIL.match(value):
            raise ValueError("must be an email address")
        return value

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None and not valid_time_zone(value):
            raise ValueError(f"{value!r} is not a valid IANA time zone")
        return value


class UserCreate(UserFields):
    name: str = Field(min_length=1, max_length=100)
    email: str = Field(min_length=6, max_length=100)


class UserCreateBody(WireInput):
    user: UserCreate


class UserUpdateBody(WireInput):
    user: UserFields


class ReferenceIn(WireInput):
    id: str = Field(min_length=1, max_length=16)
    type: str | None = None


class ContactMethodFields(WireInput):
    type: ContactMethodType | None = None
    label: str | None = Field(default=None, min_length=1, max_length=100)
    address: str | None = Field(default=None, min_length=1, max_length=320)
    country_code: int | None = Field(default=None, ge=1, le=1999, strict=True)
    send_short_email: bool | None = Field(default=None, strict=True)
    device_type: Literal["android", "ios"] | None = None
    sounds: list[dict[str, Any]] | None = Field(default=None, max_length=20)

    _not_nullable = field_validator("type", "label", "address", "send_short_email", mode="before")(
        classmethod(lambda cls, v: _no_null(v)))

    @field_validator("sounds")
    @classmethod
    def _shallow(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        # Stored as free JSON: what could not be stored and answered is refused here.
        if nests_deeper_than(value, MAX_NESTING_DEPTH):
            raise ValueError(f"is nested too deeply (at most {MAX_NESTING_DEPTH} levels)")
        return value

    @field_validator("address", "label")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None


class ContactMethodCreate(ContactMethodFields):
    type: ContactMethodType
    label: str = Field(min_length=1, max_length=100)
    address: str = Field(min_length=1, max_length=320)


class ContactMethodCreateBody(WireInput):
    contact_method: ContactMethodCreate


class ContactMethodUpdateBody(WireInput):
    contact_method: ContactMethodFields


class NotificationRuleFields(WireInput):
    type: Literal["assignment_notification_rule"] | None = None
    start_delay_in_minutes: int | None = Field(default=None, ge=0, le=10080, strict=True)
    contact_method: ReferenceIn | None = None
    urgency: Literal["high", "low"] | None = None

    _not_nullable = field_validator("start_delay_in_minutes", "contact_method", "urgency", mode="before")(
        classmethod(lambda cls, v: _no_null(v)))


class NotificationRuleCreate(NotificationRuleFields):
    start_delay_in_minutes: int = Field(ge=0, le=10080, strict=True)
    contact_method: ReferenceIn
    urgency: Literal["high", "low"]


class NotificationRuleCreateBody(WireInput):
    notification_rule: NotificationRuleCreate


class NotificationRuleUpdateBody(WireInput):
    notification_rule: NotificationRuleFields
