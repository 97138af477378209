"""Request bodies of /ip_allow_lists (Pydantic): PagerDuty's shape plus ``applies_to``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tocsin.allowlists.policy import MAX_ENTRIES
from tocsin.http.inputs import WireInput


class CidrEntryIn(WireInput):
    cidr: str = Field(min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=64)  # PagerDuty's limit


class AllowListIn(WireInput):
    type: Literal["ip_allow_list"] | None = None
    state: Literal["enabled", "disabled"]
    cidr_entries: list[CidrEntryIn] = Field(max_length=MAX_ENTRIES)
    # Tocsin's extension. Left out: REST API only on create (PagerDuty's lists restrict the web
    # app and REST API, not events), unchanged on update.
    applies_to: list[Literal["rest_api", "events_api"]] | None = Field(default=None, min_length=1)


class AllowListBody(WireInput):
    ip_allow_list: AllowListIn
