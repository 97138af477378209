"""Schedule rules and audit live in the domain logic (``tocsin.schedules.logic``), so callers that
do not go through HTTP cannot skip them: deleting a schedule a policy targets is refused there,
with the escalation domain's query coming in through the typed wiring."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import Harness
from tests.helpers import audit_trail
from tocsin.audit.recorder import Actor
from tocsin.errors import Conflict
from tocsin.escalation import logic as escalation
from tocsin.escalation.schemas import PolicyCreate
from tocsin.schedules import logic, override_logic
from tocsin.schedules.schemas import OverrideIn, ScheduleCreate, ScheduleFields

NOW = datetime(2030, 1, 1, tzinfo=UTC)
ACTOR = Actor(type="app_reference", id="PENGINE", summary="a caller without HTTP", method_type="other")


async def _schedule(h: Harness) -> str:
    admin_id = await _admin_id(h)
    async with h.tocsin.db.transaction() as session:
        schedule = await logic.create_schedule(session, ScheduleCreate.model_validate({
            "name": "Primary",
            "schedule_layers": [{"start": "2030-01-01T00:00:00Z", "rotation_turn_length_seconds": 86400,
                                 "users": [{"user": {"id": admin_id, "type": "user_reference"}}]}],
        }), ACTOR, NOW)
        return schedule.id


async def _admin_id(h: Harness) -> str:
    r = await h.client.get("/users", headers=h.auth)
    return str(r.json()["users"][0]["id"])


async def test_changes_through_logic_write_their_audit_records(harness: Harness) -> None:
    schedule_id = await _schedule(harness)
    admin_id = await _admin_id(harness)
    async with harness.tocsin.db.transaction() as session:
        await logic.update_schedule(session, schedule_id, ScheduleFields.model_validate({"name": "Renamed"}),
                                    ACTOR, NOW)
        schedule = await logic.get_schedule(session, schedule_id)
        override = await override_logic.create_override(session, schedule, OverrideIn.model_validate({
            "start": "2030-02-01T00:00:00Z", "end": "2030-02-02T00:00:00Z",
            "user": {"id": admin_id, "type": "user_reference"}}), ACTOR, NOW)
        await override_logic.delete_override(session, schedule_id, override.id, ACTOR, NOW)
        await logic.delete_schedule(session, schedule_id, harness.tocsin.runtime.wiring, ACTOR, NOW)
    assert await audit_trail(harness, schedule_id) == sorted([
        ("create", "schedule", "PENGINE"), ("update", "schedule", "PENGINE"), ("delete", "schedule", "PENGINE")])
    # An override is filed under itself (as before the move); removed before it began.
    assert [(a, t) for a, t, _ in await audit_trail(harness, override.id)] == [
        ("create", "override"), ("delete", "override")]


async def test_deleting_a_schedule_a_policy_targets_is_refused_in_logic(harness: Harness) -> None:
    schedule_id = await _schedule(harness)
    async with harness.tocsin.db.transaction() as session:
        await escalation.create_policy(session, PolicyCreate.model_validate({"name": "Uses it", "escalation_rules": [
            {"escalation_delay_in_minutes": 5, "targets": [{"type": "schedule_reference", "id": schedule_id}]}]}),
            ACTOR, NOW)
    with pytest.raises(Conflict) as refused:
        async with harness.tocsin.db.transaction() as session:
            await logic.delete_schedule(session, schedule_id, harness.tocsin.runtime.wiring, ACTOR, NOW)
    assert "Uses it" in refused.value.errors[0]
    async with harness.tocsin.db.transaction() as session:
        assert (await logic.get_schedule(session, schedule_id)).deleted_at is None
    assert [a for a, _, _ in await audit_trail(harness, schedule_id)] == ["create"]


async def test_a_batch_of_overrides_is_decided_item_by_item_in_logic(harness: Harness) -> None:
    # The per-item rule (a refused item writes nothing, the rest are made) is the domain's, so a
    # caller without HTTP gets the same results the REST batch answers with.
    schedule_id = await _schedule(harness)
    admin_id = await _admin_id(harness)

    def item(start: str, end: str, user_id: str) -> OverrideIn:
        user = {"id": user_id, "type": "user_reference"}
        return OverrideIn.model_validate({"start": start, "end": end, "user": user})

    async with harness.tocsin.db.transaction() as session:
        schedule = await logic.get_schedule(session, schedule_id)
        results = await override_logic.create_overrides(session, schedule, [
            item("2030-02-01T00:00:00Z", "2030-02-02T00:00:00Z", admin_id),
            item("2030-02-03T00:00:00Z", "2030-02-02T00:00:00Z", admin_id),
            item("2030-02-04T00:00:00Z", "2030-02-05T00:00:00Z", "PNOBODY"),
        ], ACTOR, NOW)
        stored = await logic.overrides_in(session, schedule_id)
    made, backwards, unknown = results
    assert made.row is not None and made.errors == []
    assert backwards.row is None and backwards.errors == ["overrides[1].end: end must be after start"]
    assert unknown.row is None and unknown.errors == ["overrides[2].user.id: user PNOBODY not found"]
    assert (unknown.start, unknown.end) == (datetime(2030, 2, 4, tzinfo=UTC), datetime(2030, 2, 5, tzinfo=UTC))
    assert [o.id for o in stored] == [made.row.id]
    assert [(a, t) for a, t, _ in await audit_trail(harness, made.row.id)] == [("create", "override")]
