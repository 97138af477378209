"""Deleting a user is refused in the domain logic while an escalation policy targets them
directly: the escalation query comes in through the typed wiring, so no caller can skip it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tests.helpers import audit_trail
from tocsin.audit.recorder import Actor
from tocsin.auth.models import ApiKey
from tocsin.errors import Conflict
from tocsin.escalation import logic as escalation
from tocsin.escalation.schemas import PolicyCreate
from tocsin.users import logic
from tocsin.users.logic import Editor
from tocsin.users.schemas import UserCreate

NOW = datetime(2030, 1, 1, tzinfo=UTC)
ACTOR = Actor(type="app_reference", id="PENGINE", summary="a caller without HTTP", method_type="other")
ADMIN = Editor(role="admin", user_id=None, audit=ACTOR)


async def test_deleting_a_user_a_policy_targets_is_refused_in_logic(harness: Harness) -> None:
    async with harness.tocsin.db.transaction() as session:
        user = await logic.create_user(session, ADMIN, UserCreate.model_validate(
            {"name": "Paged", "email": "paged@example.com"}), NOW)
        session.add(ApiKey(id="PKEYOFPAGED", kind="user", user_id=user.id, read_only=False, description="",
                           token_hash="0" * 64, truncated_token="xxxx", created_at=NOW))
        await escalation.create_policy(session, PolicyCreate.model_validate({"name": "Pages them", "escalation_rules": [
            {"escalation_delay_in_minutes": 5, "targets": [{"type": "user_reference", "id": user.id}]}]}), ACTOR, NOW)
    with pytest.raises(Conflict) as refused:
        async with harness.tocsin.db.transaction() as session:
            await logic.delete_user(session, ADMIN, user.id, harness.tocsin.runtime.wiring, NOW)
    assert "Pages them" in refused.value.errors[0]
    async with harness.tocsin.db.transaction() as session:
        assert (await logic.get_user(session, user.id)).deleted_at is None
        revoked = (await session.execute(select(ApiKey.revoked_at).where(ApiKey.id == "PKEYOFPAGED"))).scalar_one()
    assert revoked is None
    # Creating a user also files its default contact method and rule under it: creates only.
    assert {a for a, _, _ in await audit_trail(harness, user.id)} == {"create"}


async def test_deleting_an_unused_user_through_logic_is_audited(harness: Harness) -> None:
    async with harness.tocsin.db.transaction() as session:
        user = await logic.create_user(session, ADMIN, UserCreate.model_validate(
            {"name": "Leaving", "email": "leaving@example.com"}), NOW)
        await logic.delete_user(session, ADMIN, user.id, harness.tocsin.runtime.wiring, NOW)
    trail = await audit_trail(harness, user.id)
    assert [t for t in trail if t[0] == "delete"] == [("delete", "user", "PENGINE")]
