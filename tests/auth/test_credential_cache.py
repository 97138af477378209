"""The authenticator's cache: a credential changed in this process is dropped once the change has
committed (whoever made it: REST or a direct logic call); one changed elsewhere within the TTL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from tests.auth.tokens import user_with_key
from tests.conftest import Harness
from tocsin.audit.recorder import Actor
from tocsin.auth import access
from tocsin.auth.access import Authenticator, Principal
from tocsin.auth.models import ApiKey
from tocsin.db.after_commit import after_commit
from tocsin.db.session import Database
from tocsin.errors import AuthenticationFailed
from tocsin.users import logic
from tocsin.users.logic import Editor
from tocsin.users.schemas import UserFields

ACTOR = Actor(type="app_reference", id="PCLI", summary="a caller without HTTP", method_type="other")
ADMIN = Editor(role="admin", user_id=None, audit=ACTOR)


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


async def test_a_credential_changed_elsewhere_is_looked_up_again_after_the_ttl(harness: Harness) -> None:
    ticker = Ticker()
    authenticator = Authenticator(harness.tocsin.db, harness.tocsin.runtime.clock.now, monotonic=ticker)
    _, key = await user_with_key(harness, "user")
    header = f"Token token={key}"
    await authenticator.authenticate(header)
    async with harness.tocsin.db.transaction() as session:  # revoked by another process
        await session.execute(update(ApiKey).values(revoked_at=datetime.now(UTC)))
    ticker.at += 4.9
    await authenticator.authenticate(header)  # still trusted: within the TTL, nothing looked up
    ticker.at += 0.2
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate(header)


async def test_a_lookup_overtaken_by_a_forget_answers_its_request_but_is_not_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The race a forget must not lose: a lookup reads the rows before the change commits, the
    # change commits and forgets, then the lookup finishes. Caching its answer would bring the
    # forgotten credential back for the whole TTL.
    read, finish = asyncio.Event(), asyncio.Event()
    lookups: list[str] = []

    async def slow_lookup(_db: Database, digest: str) -> Principal | None:
        lookups.append(digest)
        read.set()
        await finish.wait()
        return Principal("PKEY", "user", False, "PUSER", role="admin")

    monkeypatch.setattr(access, "_load_api_key", slow_lookup)
    authenticator = Authenticator(Database("sqlite+aiosqlite://"), lambda: datetime.now(UTC))
    header = "Token token=" + "k" * 20
    in_flight = asyncio.create_task(authenticator.authenticate(header))
    await read.wait()
    authenticator.forget([lookups[0]])
    finish.set()
    assert (await in_flight).role == "admin"
    await authenticator.authenticate(header)
    assert len(lookups) == 2  # looked up again: the overtaken answer was not kept


async def test_logic_callers_get_the_forgetting_too(harness: Harness) -> None:
    # No HTTP: the domain functions themselves tell the process's authenticator, after commit.
    authenticator = harness.tocsin.runtime.wiring.authenticator
    wiring = harness.tocsin.runtime.wiring
    demoted_id, demoted_key = await user_with_key(harness, "admin")
    deleted_id, deleted_key = await user_with_key(harness, "user")
    demoted = await authenticator.authenticate(f"Token token={demoted_key}")
    assert isinstance(demoted, Principal) and demoted.may("services.write")
    await authenticator.authenticate(f"Token token={deleted_key}")
    now = harness.tocsin.runtime.clock.now()
    async with harness.tocsin.db.transaction() as session:
        await logic.update_user(session, ADMIN, demoted_id, UserFields.model_validate({"role": "observer"}),
                                wiring, now)
        await logic.delete_user(session, ADMIN, deleted_id, wiring, now)
    demoted = await authenticator.authenticate(f"Token token={demoted_key}")
    assert isinstance(demoted, Principal) and not demoted.may("services.write")
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate(f"Token token={deleted_key}")


async def test_after_commit_runs_on_commit_only(harness: Harness) -> None:
    ran: list[str] = []
    db = harness.tocsin.db
    async with db.transaction() as session:
        after_commit(session, lambda: ran.append("first"))
        async with session.begin_nested():
            after_commit(session, lambda: ran.append("in a savepoint"))
        try:
            async with session.begin_nested():
                raise RuntimeError("the savepoint rolls back; the transaction goes on")
        except RuntimeError:
            pass
        assert ran == []  # not before the commit
    assert ran == ["first", "in a savepoint"]

    async def roll_back() -> None:
        async with db.transaction() as session:
            after_commit(session, lambda: ran.append("rolled back"))
            raise RuntimeError("the transaction rolls back")

    with pytest.raises(RuntimeError):
        await roll_back()
    async with db.transaction() as session:
        after_commit(session, lambda: ran.append("next"))
    assert ran == ["first", "in a savepoint", "next"]
