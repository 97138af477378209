"""Signing in to the web UI from the HTTP tests (httpx against the in-process app)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.conftest import Harness
from tocsin.auth.logic import live_user
from tocsin.ui import accounts

PASSWORD = "correct horse battery"


async def set_password(h: Harness, email: str, password: str = PASSWORD) -> None:
    async with h.tocsin.db.transaction() as session:
        user = await live_user(session, email=email)
        await accounts.set_password(session, user.id, password, h.tocsin.runtime.clock.now())


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


@asynccontextmanager
async def browser(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """A client of its own (its own cookies), like a second browser."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=h.tocsin), base_url="http://tocsin.test") as c:
        yield c


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/ui/sign-in")
    return await client.post("/ui/sign-in", data={"csrf": csrf_of(page.text), "email": email, "password": password,
                                                  "next": "/"})


async def new_user(h: Harness, name: str, role: str) -> str:
    r = await h.client.post("/users", headers=h.writer, json={"user": {
        "type": "user", "name": name, "email": f"{name.lower()}@example.com", "role": role}})
    assert r.status_code == 201, r.text
    return f"{name.lower()}@example.com"


async def trigger(h: Harness, summary: str = "Disk full on db-1", links: list[dict[str, str]] | None = None,
                  **payload: Any) -> None:
    event = h.event("trigger", None, summary=summary, **payload)
    if links:
        event["links"] = links
    r = await h.send(event)
    assert r.status_code == 202, r.text
    await h.process()


def incident_ids(html: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r'href="/ui/incidents/(P\w+)"', html)))
