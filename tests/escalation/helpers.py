"""Builders shared by the escalation tests: users, schedules, policies and teams at a frozen ``NOW``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.conftest import Harness
from tocsin.auth.models import User
from tocsin.ids import new_id

NOW = datetime(2030, 1, 1, tzinfo=UTC)
DAY = 86_400


async def make_user(h: Harness, name: str) -> str:
    user_id = new_id()
    async with h.tocsin.db.transaction() as session:
        session.add(User(id=user_id, name=name, email=f"{name.lower()}-{user_id.lower()}@example.com",
                         role="user", time_zone="Etc/UTC", created_at=NOW))
    return user_id


async def make_schedule(h: Harness, users: list[str], name: str = "Primary", **layer: Any) -> str:
    """A daily rotation of ``users`` that started well before ``NOW`` (no gaps unless ``layer``
    adds restrictions or a later start)."""
    body = {
        "start": "2029-12-01T00:00:00Z", "rotation_virtual_start": "2029-12-01T00:00:00Z",
        "rotation_turn_length_seconds": DAY,
        "users": [{"user": {"id": u, "type": "user_reference"}} for u in users], **layer,
    }
    r = await h.client.post("/schedules", headers=h.writer, json={"schedule": {
        "name": name, "time_zone": "Etc/UTC", "schedule_layers": [body]}})
    assert r.status_code == 201, r.text
    return r.json()["schedule"]["id"]


def user_target(user_id: str) -> dict[str, str]:
    return {"id": user_id, "type": "user_reference"}


def schedule_target(schedule_id: str) -> dict[str, str]:
    return {"id": schedule_id, "type": "schedule_reference"}


def policy_body(*levels: list[dict[str, str]], name: str = "Ops", **fields: Any) -> dict[str, Any]:
    return {"escalation_policy": {
        "type": "escalation_policy", "name": name,
        "escalation_rules": [{"escalation_delay_in_minutes": 30, "targets": targets} for targets in levels],
        **fields,
    }}


async def make_policy(h: Harness, *levels: list[dict[str, str]], name: str = "Ops", **fields: Any) -> dict[str, Any]:
    r = await h.client.post("/escalation_policies", headers=h.writer, json=policy_body(*levels, name=name, **fields))
    assert r.status_code == 201, r.text
    return r.json()["escalation_policy"]


async def make_team(h: Harness, name: str) -> str:
    r = await h.client.post("/teams", headers=h.writer, json={"team": {"type": "team", "name": name}})
    assert r.status_code == 201, r.text
    return r.json()["team"]["id"]
