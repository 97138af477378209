"""Allow list rows -> PagerDuty's ``ip_allow_list`` JSON (plus Tocsin's ``applies_to``)."""

from __future__ import annotations

from typing import Any

from tocsin.allowlists.logic import summary
from tocsin.allowlists.models import IpAllowList
from tocsin.http.refs import envelope, iso


def allow_list_json(base: str, row: IpAllowList) -> dict[str, Any]:
    body = envelope(base, "ip_allow_list", row.id, summary(row.applies_to))
    body.update(
        state=row.state,
        cidr_entries=[{"cidr": e["cidr"], "description": e["description"]} for e in row.cidr_entries],
        applies_to=list(row.applies_to),
        created_at=iso(row.created_at),
        updated_at=iso(row.updated_at),
    )
    return body
