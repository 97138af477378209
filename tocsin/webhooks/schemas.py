"""Request bodies of /webhook_subscriptions (Pydantic), as PagerDuty's clients send them, and of
Tocsin's forwarders and chat webhooks under /services/{id}."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from tocsin.http.inputs import WireInput, reject_nulls
from tocsin.webhooks.event_types import SUBSCRIBABLE

FilterType = Literal["account_reference", "service_reference", "team_reference"]
MAX_HEADERS = 10
MAX_URL = 2048
# Tocsin sets these on every delivery; a custom header may not replace them (nor the ones the
# HTTP client owns).
RESERVED_HEADERS = frozenset({
    "x-pagerduty-signature", "x-webhook-id", "x-webhook-subscription", "user-agent", "content-type",
    "content-length", "host", "transfer-encoding", "connection",
})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")  # RFC 9110 field-name


class CustomHeaderIn(WireInput):
    name: str
    value: str = Field(max_length=1000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _TOKEN.match(value):
            raise ValueError("must be an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)")
        if value.lower() in RESERVED_HEADERS:
            raise ValueError(f"{value} is set by Tocsin on every delivery and cannot be replaced")
        return value

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        if any(c in value for c in "\r\n"):
            raise ValueError("a header value cannot hold a line break")
        return value


class DeliveryMethodIn(WireInput):
    type: Literal["http_delivery_method"] = "http_delivery_method"
    url: str = Field(max_length=MAX_URL)
    custom_headers: list[CustomHeaderIn] = Field(default_factory=list, max_length=MAX_HEADERS)

    _no_nulls = reject_nulls("custom_headers")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("must not carry a user name or password (use custom_headers)")
        return value

    @field_validator("custom_headers")
    @classmethod
    def _unique_names(cls, value: list[CustomHeaderIn]) -> list[CustomHeaderIn]:
        names = [h.name.lower() for h in value]
        if len(set(names)) != len(names):
            raise ValueError("each header name may appear once")
        return value


class FilterIn(WireInput):
    type: FilterType
    id: str | None = Field(default=None, max_length=16)

    @model_validator(mode="after")
    def _needs_id(self) -> FilterIn:
        if self.type != "account_reference" and not self.id:
            raise ValueError(f"a {self.type} filter needs the id of what it names")
        if self.type == "account_reference":
            self.id = None  # the account is the only one
        return self


def _events(value: list[str]) -> list[str]:
    unknown = sorted({e for e in value if e not in SUBSCRIBABLE})
    if unknown:
        raise ValueError(f"unknown event types {unknown}; known: {sorted(SUBSCRIBABLE)}")
    if len(set(value)) != len(value):
        raise ValueError("each event type may appear once")
    return value


class SubscriptionFields(WireInput):
    """What PUT may change (PagerDuty does not change ``delivery_method`` through PUT: a body
    that carries it, as a GET's answer sent back does, keeps the stored one)."""

    description: str | None = Field(default=None, max_length=1024)
    events: list[str] | None = Field(default=None, min_length=1, max_length=64)
    filter: FilterIn | None = None
    active: bool | None = None
    oauth_client_id: str | None = None

    _no_nulls = reject_nulls("events", "filter", "active")

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _events(value)

    @field_validator("oauth_client_id")
    @classmethod
    def _no_oauth(cls, value: str | None) -> str | None:
        if value:
            raise ValueError("OAuth-authenticated delivery is not supported; sign-checking receivers "
                             "use the subscription's secret")
        return value


class SubscriptionCreate(SubscriptionFields):
    type: Literal["webhook_subscription"] = "webhook_subscription"
    delivery_method: DeliveryMethodIn
    events: list[str] = Field(min_length=1, max_length=64)
    filter: FilterIn
    active: bool = True  # defaults to on


class SubscriptionCreateBody(WireInput):
    webhook_subscription: SubscriptionCreate


class SubscriptionUpdateBody(WireInput):
    webhook_subscription: SubscriptionFields


# --- forwarders and chat webhooks (Tocsin extensions under /services/{id}) ----------------------------

Action = Literal["trigger", "acknowledge", "resolve", "escalate"]
Urgency = Literal["high", "low"]
FORWARD_ALL: tuple[Action, ...] = ("trigger", "acknowledge", "resolve")
CHAT_ALL: tuple[Action, ...] = ("trigger", "acknowledge", "escalate", "resolve")


def _http(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def _once(value: list[str] | None) -> list[str] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("each value may appear once")
    return value


class RelayFields(WireInput):
    """What PUT may change on a forwarder or chat webhook (absent: kept)."""

    description: str | None = Field(default=None, max_length=1024)
    url: str | None = Field(default=None, max_length=MAX_URL)
    events: list[Action] | None = Field(default=None, min_length=1, max_length=4)
    urgencies: list[Urgency] | None = Field(default=None, min_length=1, max_length=2)
    active: bool | None = None

    _no_nulls = reject_nulls("url", "events", "active")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _http(value)

    @field_validator("events", "urgencies")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return _once(value)


class ForwarderFields(RelayFields):
    integration_key: str | None = Field(default=None, min_length=1, max_length=128)

    _no_null_key = reject_nulls("integration_key")

    @field_validator("events")
    @classmethod
    def _forwarded(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and "escalate" in value:
            raise ValueError("an Events API has no escalate action: choose among trigger, acknowledge, resolve")
        return value


class ForwarderCreate(ForwarderFields):
    type: Literal["forwarder"] = "forwarder"
    integration_key: str = Field(min_length=1, max_length=128)
    url: str = Field(default="https://events.pagerduty.com/v2/enqueue", max_length=MAX_URL)
    events: list[Action] = Field(default_factory=lambda: list(FORWARD_ALL), min_length=1, max_length=3)
    active: bool = True


class ChatFields(RelayFields):
    # The user the message's one-click acknowledge/resolve links act as (absent: no such links).
    acting_user_id: str | None = Field(default=None, max_length=16)


class ChatCreate(ChatFields):
    type: Literal["chat_webhook"] = "chat_webhook"
    url: str = Field(max_length=MAX_URL)
    events: list[Action] = Field(default_factory=lambda: list(CHAT_ALL), min_length=1, max_length=4)
    active: bool = True


class ForwarderCreateBody(WireInput):
    forwarder: ForwarderCreate


class ForwarderUpdateBody(WireInput):
    forwarder: ForwarderFields


class ChatCreateBody(WireInput):
    chat_webhook: ChatCreate


class ChatUpdateBody(WireInput):
    chat_webhook: ChatFields
