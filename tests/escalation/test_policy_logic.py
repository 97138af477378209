"""Escalation policy rules and audit live in the domain logic: a caller that is not the REST
API (the CLI, the engine, the web UI) gets them by calling ``tocsin.escalation.logic``."""

from __future__ import annotations

import pytest

from tests.conftest import Harness
from tests.escalation.helpers import NOW, make_user
from tests.helpers import audit_trail
from tocsin.audit.recorder import Actor
from tocsin.errors import Conflict
from tocsin.escalation import logic
from tocsin.escalation.schemas import PolicyCreate, PolicyFields
from tocsin.services.models import Service

ACTOR = Actor(type="app_reference", id="PENGINE", summary="a caller without HTTP", method_type="other")


def _fields(user_id: str, name: str = "Direct") -> PolicyCreate:
    return PolicyCreate.model_validate({"name": name, "escalation_rules": [
        {"escalation_delay_in_minutes": 5, "targets": [{"type": "user_reference", "id": user_id}]}]})


async def test_create_update_and_delete_through_logic_write_their_audit_records(h: Harness) -> None:
    user_id = await make_user(h, "Ada")
    wiring = h.tocsin.runtime.wiring
    async with h.tocsin.db.transaction() as session:
        policy = await logic.create_policy(session, _fields(user_id), ACTOR, NOW)
        await logic.update_policy(session, policy.id, PolicyFields.model_validate({"name": "Renamed"}), ACTOR, NOW)
        await logic.delete_policy(session, policy.id, wiring, ACTOR, NOW)
    assert await audit_trail(h, policy.id) == sorted([
        ("create", "escalation_policy", "PENGINE"), ("update", "escalation_policy", "PENGINE"),
        ("delete", "escalation_policy", "PENGINE")])


async def test_deleting_a_policy_a_service_uses_is_refused_in_logic(h: Harness) -> None:
    user_id = await make_user(h, "Grace")
    async with h.tocsin.db.transaction() as session:
        policy = await logic.create_policy(session, _fields(user_id), ACTOR, NOW)
        service = await session.get(Service, h.seed.service_id)
        assert service is not None
        service.escalation_policy_id = policy.id
    with pytest.raises(Conflict) as refused:
        async with h.tocsin.db.transaction() as session:
            await logic.delete_policy(session, policy.id, h.tocsin.runtime.wiring, ACTOR, NOW)
    assert "Demo Service" in refused.value.errors[0]
    async with h.tocsin.db.transaction() as session:
        assert (await logic.get_policy(session, policy.id)).deleted_at is None
    assert [a for a, _, _ in await audit_trail(h, policy.id)] == ["create"]
