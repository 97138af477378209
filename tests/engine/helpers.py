"""Builders shared by the engine tests: the instance's link secret, signed links, incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Harness
from tocsin.clock import FrozenClock
from tocsin.notifications.links import ACTION_PATH, sign
from tocsin.notifications.queries import link_secret

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


def freeze(h: Harness, at: datetime = NOW) -> FrozenClock:
    clock = FrozenClock(at)
    h.tocsin.runtime.clock = clock
    return clock


async def secret_of(h: Harness) -> bytes:
    async with h.tocsin.db.transaction() as session:
        return await session.run_sync(lambda s: link_secret(s, NOW))


async def token(h: Harness, incident_id: str, user_id: str, action: str, *,
                expires_at: datetime | None = None) -> str:
    expiry = expires_at or h.tocsin.runtime.clock.now() + timedelta(hours=24)
    return sign(await secret_of(h), incident_id=incident_id, user_id=user_id, action=action, expires_at=expiry)


async def action_path(h: Harness, incident_id: str, user_id: str, action: str, **kwargs: Any) -> str:
    return f"{ACTION_PATH}/{await token(h, incident_id, user_id, action, **kwargs)}"


async def new_user(h: Harness, name: str, role: str = "user") -> str:
    r = await h.client.post("/users", headers=h.writer, json={"user": {
        "type": "user", "name": name, "email": f"{name.lower()}@example.com", "role": role}})
    assert r.status_code == 201, r.text
    return str(r.json()["user"]["id"])


async def new_incident(h: Harness, title: str = "Disk full on db-1") -> dict[str, Any]:
    r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
        "type": "incident", "title": title, "service": {"id": h.seed.service_id, "type": "service_reference"}}})
    assert r.status_code == 201, r.text
    incident: dict[str, Any] = r.json()["incident"]
    return incident


async def incident(h: Harness, incident_id: str) -> dict[str, Any]:
    r = await h.client.get(f"/incidents/{incident_id}", headers=h.auth)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["incident"]
    return found


async def log_entries(h: Harness, incident_id: str) -> list[dict[str, Any]]:
    """Oldest first."""
    r = await h.client.get(f"/incidents/{incident_id}/log_entries", headers=h.auth)
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["log_entries"]))
