"""Service and integration changes write their audit records in the domain logic
(``tocsin.services.logic``), whoever calls it."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import Harness
from tests.helpers import audit_trail
from tocsin.audit.recorder import Actor
from tocsin.services import logic
from tocsin.services.schemas import IntegrationCreate, IntegrationFields, ServiceCreate, ServiceFields

NOW = datetime(2030, 1, 1, tzinfo=UTC)
ACTOR = Actor(type="app_reference", id="PENGINE", summary="a caller without HTTP", method_type="other")


async def test_service_and_integration_changes_through_logic_are_audited(harness: Harness) -> None:
    policy = {"id": harness.seed.escalation_policy_id, "type": "escalation_policy_reference"}
    async with harness.tocsin.db.transaction() as session:
        service = await logic.create_service(session, ServiceCreate.model_validate(
            {"name": "Direct", "escalation_policy": policy}), ACTOR, NOW)
        await logic.update_service(session, service.id, ServiceFields.model_validate({"name": "Renamed"}), ACTOR, NOW)
        integration = await logic.create_integration(session, service.id, IntegrationCreate(name="Hook"), ACTOR, NOW,
                                                     logic.SYSTEM_CREATOR)
        await logic.update_integration(session, service.id, integration.id, IntegrationFields(name="Hook 2"),
                                       ACTOR, NOW)
        await logic.delete_integration(session, service.id, integration.id, ACTOR, NOW)
        await logic.delete_service(session, service.id, ACTOR, NOW, harness.tocsin.runtime.wiring)
    trail = await audit_trail(harness, service.id)
    # An integration's records are filed under its service.
    assert trail == sorted([("create", "service", "PENGINE"), ("update", "service", "PENGINE"),
                            ("create", "service", "PENGINE"), ("update", "service", "PENGINE"),
                            ("delete", "service", "PENGINE"), ("delete", "service", "PENGINE")])
