"""Priority rules and audit live in ``tocsin.incidents.priorities``: only admins (or account keys)
change priorities, and each change is audited, whoever calls it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import Harness
from tests.helpers import audit_trail
from tocsin.audit.recorder import Actor
from tocsin.errors import AccessDenied
from tocsin.incidents import priorities
from tocsin.incidents.schemas import PriorityCreate, PriorityFields

NOW = datetime(2030, 1, 1, tzinfo=UTC)
ACTOR = Actor(type="user_reference", id="PUSER", summary="someone", method_type="other")


async def test_priority_changes_are_audited_and_need_an_admin(harness: Harness) -> None:
    admin = priorities.Editor(role="admin", user_id="PUSER", audit=ACTOR)
    responder = priorities.Editor(role="user", user_id="PUSER", audit=ACTOR)
    with pytest.raises(AccessDenied):
        async with harness.tocsin.db.transaction() as session:
            await priorities.create_priority(session, responder, PriorityCreate(name="P9"), NOW)
    async with harness.tocsin.db.transaction() as session:
        priority = await priorities.create_priority(session, admin, PriorityCreate(name="P9"), NOW)
    with pytest.raises(AccessDenied):
        async with harness.tocsin.db.transaction() as session:
            await priorities.update_priority(session, responder, priority.id, PriorityFields(name="P10"), NOW)
    async with harness.tocsin.db.transaction() as session:
        await priorities.update_priority(session, admin, priority.id, PriorityFields(name="P10"), NOW)
    assert await audit_trail(harness, priority.id) == [("create", "priority", "PUSER"), ("update", "priority", "PUSER")]
