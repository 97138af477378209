"""ORM rows -> PagerDuty JSON for teams and members."""
from __future__ import annotations

from typing import Any

from tocsin.http.refs import envelope, reference
from tocsin.teams.models import Team


def team_ref(base: str, team: Team) -> dict[str, Any]:
    return reference(base, "team", team.id, team.name)


def team_json(base: str, team: Team, parent: Team | None) -> dict[str, Any]:
    body = envelope(base, "team", team.id, team.name)
    body.update(
        name=team.name,
        # PagerDuty's schema has description as a non-null string.
        description=team.description or "",
        default_role=team.default_role,
        parent=team_ref(base, parent) if parent is not None else None,
    )
    return body


def member_json(base: str, user_id: str, user_name: str, role: str) -> dict[str, Any]:
    return {"user": reference(base, "user", user_id, user_name), "role": role}
