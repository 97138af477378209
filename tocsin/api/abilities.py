"""``GET /abilities`` and ``GET /abilities/{id}``: what this installation can do.

Only abilities Tocsin really implements are listed; a self-hosted install has no pricing plan,
so "not available" (402) means "not built". Names PagerDuty uses for features Tocsin lacks
answer 402; names nobody uses answer 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from tocsin.auth.access import require
from tocsin.errors import NotFound, TocsinError

router = APIRouter(tags=["Abilities"])
READ = Depends(require("abilities.read"))

SUPPORTED = (
    "manage_schedules",       # /schedules with layers, restrictions and overrides
    "read_only_users",        # read-only roles and read-only keys
    "service_support_hours",  # use_support_hours urgency rules
    "teams",                  # /teams and team membership
    "urgencies",              # high/low urgency and urgency rules
)
# Features PagerDuty accounts may have that Tocsin does not implement.
NOT_SUPPORTED = (
    "advanced_reports",
    "business_services",
    "coordinated_responding",
    "event_intelligence",
    "event_rules",
    "incident_workflows",
    "response_plays",
    "sso",
    "status_dashboards",
    "status_pages",
)


class AbilityMissing(TocsinError):
    status_code, code, message = 402, 2000, "Payment Required"


@router.get("/abilities", dependencies=[READ])
async def list_abilities() -> dict[str, Any]:
    return {"abilities": list(SUPPORTED)}


@router.get("/abilities/{id}", status_code=204, dependencies=[READ])
async def get_ability(id: str) -> Response:  # noqa: A002
    if id in SUPPORTED:
        return Response(status_code=204)
    if id in NOT_SUPPORTED:
        raise AbilityMissing(errors=[f"This installation does not have the {id} ability"])
    raise NotFound(errors=[f"Unknown ability {id[:100]!r}"])
