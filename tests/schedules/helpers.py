"""Helpers shared by the schedule tests: times, users, schedule bodies and REST calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.conftest import Harness
from tocsin.auth.models import User
from tocsin.clock import FrozenClock
from tocsin.ids import new_id

DAY = 86_400
WEEK = 7 * DAY


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def clock(h: Harness) -> FrozenClock:
    c = h.tocsin.runtime.clock
    assert isinstance(c, FrozenClock)
    return c


async def make_user(h: Harness, name: str) -> str:
    user_id = new_id()
    async with h.tocsin.db.transaction() as session:
        session.add(User(id=user_id, name=name, email=f"{name.lower()}-{user_id.lower()}@example.com",
                         role="user", time_zone="Etc/UTC", created_at=datetime.now(UTC)))
    return user_id


def layer(users: list[str], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "start": "2030-01-07T00:00:00Z",
        "rotation_virtual_start": "2030-01-07T00:00:00Z",
        "rotation_turn_length_seconds": WEEK,
        "users": [{"user": {"id": u, "type": "user_reference"}} for u in users],
    }
    body.update(fields)
    return body


def schedule_body(users: list[str], **fields: Any) -> dict[str, Any]:
    return {"schedule": {"name": "Primary", "time_zone": "Etc/UTC", "schedule_layers": [layer(users)], **fields}}


async def create(h: Harness, users: list[str], **fields: Any) -> dict[str, Any]:
    r = await h.client.post("/schedules", headers=h.writer, json=schedule_body(users, **fields))
    assert r.status_code == 201, r.text
    return r.json()["schedule"]


async def fetch(h: Harness, schedule_id: str, **params: Any) -> dict[str, Any]:
    r = await h.client.get(f"/schedules/{schedule_id}", headers=h.auth, params=params)
    assert r.status_code == 200, r.text
    return r.json()["schedule"]


def spans(entries: list[dict[str, Any]]) -> list[tuple[datetime, datetime, str]]:
    return [(datetime.fromisoformat(e["start"]), datetime.fromisoformat(e["end"]), e["user"]["id"]) for e in entries]
