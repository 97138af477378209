"""REST routes: ``GET /notifications`` (PagerDuty's list of notifications sent to people)."""

from __future__ import annotations

from calendar import monthrange
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request

from tocsin.auth.access import Principal, require
from tocsin.errors import InvalidInput
from tocsin.http import includes
from tocsin.http.pagination import page
from tocsin.http.params import PAGE, documented, optional_datetime, time_zone
from tocsin.http.runtime import Runtime, runtime
from tocsin.notifications.addresses import NOTIFICATION_TYPES
from tocsin.notifications.queries import attempted_between, incident_labels
from tocsin.notifications.wire import notification_json
from tocsin.users.queries import user_refs

router = APIRouter(tags=["Notifications"])
READ = require("users:notifications.read")  # PagerDuty's scope for this operation
INCLUDES = ("users",)
FILTERS = {kind: channel for channel, kind in NOTIFICATION_TYPES.items()}
# PagerDuty requires since and until; Tocsin defaults them (until: now, since: this long before)
# so a client that leaves them out gets the recent notifications rather than an error.
DEFAULT_RANGE = timedelta(days=30)


def _three_months_after(at: datetime) -> datetime:
    month = at.month + 2  # 0-based month index three months on
    year, month = at.year + month // 12, month % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, monthrange(year, month)[1]))


_FILTER_PARAMETER = {
    "name": "filter", "in": "query", "required": False,
    "schema": {"type": "string", "enum": sorted(FILTERS)},
    "description": "Only notifications of this type.",
}
_OPENAPI = documented(*PAGE, "time_zone", "since", "until", "include[]")
_OPENAPI["parameters"].append(_FILTER_PARAMETER)


@router.get("/notifications", openapi_extra=_OPENAPI, description=(
    "Notifications sent (or failed) in [since, until), oldest first. The range must be shorter than "
    "three months. Unlike PagerDuty, since and until may be left out: without until everything since "
    "`since` is listed (up to now), and since defaults to 30 days before until (or now). Tocsin adds "
    "`status`, `kind` (incident, handoff, test), `incident`, `provider_response` and `error` to each "
    "notification."))
async def list_notifications(
    request: Request, rt: Runtime = Depends(runtime), _: Principal = Depends(READ),
) -> dict[str, Any]:
    p = page(request)
    expand_users = "users" in includes.asked(request, INCLUDES)
    tz = time_zone(request)
    asked_until = optional_datetime(request, "until")
    until = asked_until or rt.clock.now()
    since = optional_datetime(request, "since") or until - DEFAULT_RANGE
    if since >= until:
        raise InvalidInput(errors=["since must be before until"])
    if until >= _three_months_after(since):
        raise InvalidInput(errors=["The date range (since to until) must be shorter than 3 months"])
    raw_filter = request.query_params.get("filter")
    if raw_filter and raw_filter not in FILTERS:
        raise InvalidInput(errors=[f"filter must be one of {', '.join(sorted(FILTERS))}"])
    channel = FILTERS[raw_filter] if raw_filter else None
    async with rt.db.transaction() as session:
        rows, total, more = await p.fetch_page(session, attempted_between(since, asked_until, channel))
        users = await user_refs(session, {r.user_id for r in rows})
        incidents = await incident_labels(session, [r.incident_id for r in rows])
    items = [notification_json(rt.base_url, r, users=users, expand_users=expand_users, incidents=incidents, tz=tz)
             for r in rows]
    return p.body("notifications", items, total, more)
