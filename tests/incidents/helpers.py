"""Helpers shared by the incident tests: users, policies, incidents and their log over REST."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from tests.conftest import Harness
from tocsin.auth.models import User
from tocsin.incidents.models import Incident


async def admin_id(h: Harness) -> str:
    async with h.tocsin.db.transaction() as session:
        return (await session.execute(select(User.id).where(User.email == h.seed.admin_email))).scalar_one()


async def new_user(h: Harness, name: str) -> str:
    r = await h.client.post("/users", headers=h.writer, json={"user": {
        "type": "user", "name": name, "email": f"{name.lower()}@example.com"}})
    assert r.status_code == 201, r.text
    return str(r.json()["user"]["id"])


async def new_policy(h: Harness, levels: list[list[str]], teams: Sequence[str] = ()) -> str:
    body: dict[str, Any] = {"type": "escalation_policy", "name": f"Policy {len(levels)} {levels}",
                            "escalation_rules": [
                                {"escalation_delay_in_minutes": 5,
                                 "targets": [{"id": u, "type": "user_reference"} for u in level]}
                                for level in levels]}
    if teams:
        body["teams"] = [{"id": t, "type": "team_reference"} for t in teams]
    r = await h.client.post("/escalation_policies", headers=h.writer, json={"escalation_policy": body})
    assert r.status_code == 201, r.text
    return str(r.json()["escalation_policy"]["id"])


def incident_body(h: Harness, **fields: Any) -> dict[str, Any]:
    return {"incident": {"type": "incident", "title": "Database down",
                         "service": {"id": h.seed.service_id, "type": "service_reference"}, **fields}}


async def create(h: Harness, **fields: Any) -> dict[str, Any]:
    r = await h.client.post("/incidents", headers=h.writer, json=incident_body(h, **fields))
    assert r.status_code == 201, r.text
    return r.json()["incident"]


async def put(h: Harness, incident_id: str, **fields: Any) -> Any:
    return await h.client.put(f"/incidents/{incident_id}", headers=h.writer,
                              json={"incident": {"type": "incident_reference", **fields}})


async def get(h: Harness, url: str, **params: Any) -> dict[str, Any]:
    r = await h.client.get(url, headers=h.auth, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def log_types(h: Harness, incident_id: str) -> list[str]:
    """Oldest first."""
    entries = (await get(h, f"/incidents/{incident_id}/log_entries"))["log_entries"]
    return [e["type"] for e in reversed(entries)]


async def trigger(h: Harness, key: str) -> dict[str, Any]:
    assert (await h.send(h.event(dedup_key=key))).status_code == 202
    assert await h.process() == 1
    listed = await get(h, "/incidents", incident_key=key, **{"statuses[]": ["triggered", "acknowledged"]})
    return listed["incidents"][0]


def assignee_ids(incident: dict[str, Any]) -> list[str]:
    return [a["assignee"]["id"] for a in incident["assignments"]]


async def incident_count(h: Harness) -> int:
    async with h.tocsin.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(Incident))).scalar_one())
