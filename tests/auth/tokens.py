"""Minting credentials straight in the database, for tests that need many of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.conftest import Harness, make_settings
from tocsin.api.app import Tocsin
from tocsin.auth import logic
from tocsin.auth.models import User
from tocsin.ids import new_id


async def oauth_token(h: Harness, scopes: list[str], *, allowed: list[str] | None = None) -> str:
    """A bearer token carrying exactly ``scopes`` (from a client allowed ``allowed`` or them)."""
    async with h.tocsin.db.transaction() as session:
        now = h.tocsin.runtime.clock.now()
        client, secret = await logic.create_oauth_client(
            session, now, logic.CLI_ACTOR, name="test app", scopes=allowed or scopes)
        issued = await logic.issue_access_token(
            session, now, client_id=client.id, client_secret=secret, requested=scopes, ttl=3600)
    return issued.access_token


async def user_with_key(h: Harness, role: str, *, read_only: bool = False) -> tuple[str, str]:
    """A new user of ``role`` and a user API key for it: (user id, key)."""
    async with h.tocsin.db.transaction() as session:
        now = h.tocsin.runtime.clock.now()
        user = User(id=new_id(), name=f"A {role}", email=f"{role}.{new_id().lower()}@example.com",
                    role=role, created_at=now)
        session.add(user)
        await session.flush()
        _, secret = await logic.create_api_key(
            session, now, logic.CLI_ACTOR, key_type="user", user_id=user.id, read_only=read_only,
            description=f"{role} key")
    return user.id, secret


@asynccontextmanager
async def another_process(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a second Tocsin on the same database, as another server process would be:
    it shares nothing with the harness's app, its credential cache least of all."""
    other = Tocsin(make_settings(h.db_url), start_worker=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://tocsin.test") as client:
            yield client
    finally:
        await other.committer.close()
        await other.db.dispose()
