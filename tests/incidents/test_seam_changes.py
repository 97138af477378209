"""REST changes go through the transition seam too: disabled services, title, conference bridge,
alerts moving between incidents, and an escalation level sent with a reopen."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from tests.conftest import Harness
from tests.helpers import assert_error
from tests.incidents.helpers import (
    admin_id,
    assignee_ids,
    create,
    get,
    incident_body,
    incident_count,
    log_types,
    new_policy,
    new_user,
    put,
    trigger,
)
from tocsin.incidents import alert_moves, logic
from tocsin.incidents.models import Alert, LogEntry
from tocsin.incidents.queries import get_incident
from tocsin.incidents.schemas import AlertUpdate, IncidentUpdate
from tocsin.incidents.transition_records import AlertsMoved, ConferenceBridgeChanged, Merged, TitleChanged
from tocsin.incidents.transition_writer import recorded

AT = datetime(2030, 1, 1, tzinfo=UTC)


async def _set_service_status(h: Harness, status: str) -> None:
    r = await h.client.put(f"/services/{h.seed.service_id}", headers=h.writer, json={"service": {"status": status}})
    assert r.status_code == 200, r.text


# --- disabled services -----------------------------------------------------------------------

async def test_a_disabled_service_opens_and_reopens_no_incidents_over_rest(harness: Harness) -> None:
    acked, resolved = await create(harness, title="One"), await create(harness, title="Two")
    assert (await put(harness, resolved["id"], status="resolved")).status_code == 200
    await _set_service_status(harness, "disabled")
    before = await incident_count(harness)

    r = await harness.client.post("/incidents", headers=harness.writer, json=incident_body(harness))
    error = assert_error(r, 400, 2001)
    assert error["errors"] == [(f"incident.service: service {harness.seed.service_id} is disabled and opens no "
                               "new incidents")]
    assert await incident_count(harness) == before
    for status in ("triggered", "acknowledged"):  # reopening would page as a new incident does
        error = assert_error(await put(harness, resolved["id"], status=status), 400, 2001)
        assert error["errors"] == [(f"incident.status: service {harness.seed.service_id} is disabled; its "
                                   "incidents cannot be reopened")]
    assert (await get(harness, f"/incidents/{resolved['id']}"))["incident"]["status"] == "resolved"
    # Its open incidents can still be dealt with.
    assert (await put(harness, acked["id"], status="acknowledged")).status_code == 200
    assert (await put(harness, acked["id"], status="resolved")).status_code == 200

    await _set_service_status(harness, "active")
    assert (await put(harness, resolved["id"], status="triggered")).status_code == 200
    await create(harness)


# --- title, bridge, alerts moved: records without log entries ----------------------------------

async def _log_count(h: Harness) -> int:
    async with h.tocsin.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(LogEntry))).scalar_one())


async def test_title_and_conference_bridge_changes_are_records(harness: Harness) -> None:
    incident, user = await create(harness), await admin_id(harness)
    entries = await _log_count(harness)
    bridge = {"conference_url": "https://meet.example.com/x"}
    async with harness.tocsin.db.transaction() as session:
        update = IncidentUpdate.model_validate({"title": "Database slow", "conference_bridge": bridge})
        await logic.update_incident(session, incident["id"], update, user, AT)
        title, bridged = recorded(session)
        update = IncidentUpdate.model_validate({"title": "Database slow", "conference_bridge": bridge})
        await logic.update_incident(session, incident["id"], update, user, AT)
        assert len(recorded(session)) == 2  # the same values again change nothing
    assert isinstance(title, TitleChanged) and (title.from_title, title.to_title) == ("Database down", "Database slow")
    assert isinstance(bridged, ConferenceBridgeChanged) and (bridged.from_bridge, bridged.to_bridge) == (None, bridge)
    assert title.agent == bridged.agent == {"id": user, "type": "user_reference"}
    got = (await get(harness, f"/incidents/{incident['id']}"))["incident"]
    assert (got["title"], got["conference_bridge"]) == ("Database slow", bridge)
    assert await _log_count(harness) == entries  # PagerDuty writes no log entry for either


async def test_an_incident_receiving_alerts_is_a_record(harness: Harness) -> None:
    target, source, third = [await trigger(harness, f"mv/{n}") for n in (1, 2, 3)]
    user = await admin_id(harness)
    async with harness.tocsin.db.transaction() as session:
        source_alerts = list((await session.execute(
            select(Alert.id).where(Alert.incident_id.in_([source["id"], third["id"]])).order_by(Alert.incident_id)
        )).scalars())
    alert_of = dict(zip(sorted([source["id"], third["id"]]), source_alerts, strict=True))
    entries = await _log_count(harness)
    async with harness.tocsin.db.transaction() as session:
        await alert_moves.merge(session, target["id"], [source["id"]], user, AT)
        moved, merged = recorded(session)
        await alert_moves.update_alert(session, await get_incident(session, third["id"]), alert_of[third["id"]],
                                       AlertUpdate.model_validate({"incident": {"id": target["id"],
                                                                                "type": "incident_reference"}}),
                                       user, AT)
        moved_one = recorded(session)[2]
    assert moved == AlertsMoved(target["id"], AT, {"id": user, "type": "user_reference"}, {"type": "api"}, "",
                                from_incident_id=source["id"], alert_ids=(alert_of[source["id"]],))
    assert isinstance(merged, Merged) and merged.incident_id == source["id"]
    assert isinstance(moved_one, AlertsMoved)
    assert (moved_one.incident_id, moved_one.from_incident_id, moved_one.alert_ids) == (
        target["id"], third["id"], (alert_of[third["id"]],))
    got = (await get(harness, f"/incidents/{target['id']}"))["incident"]
    assert got["updated_at"].startswith("2030-01-01") and got["alert_counts"]["all"] == 3
    # Only what PagerDuty logs: the merged source's resolve and the emptied incident's resolve.
    assert await _log_count(harness) == entries + 2
    assert await log_types(harness, target["id"]) == ["trigger_log_entry", "assign_log_entry"]


# --- an escalation level sent with a reopen -----------------------------------------------------

async def test_reopening_with_assignees_or_a_policy_applies_the_escalation_level(harness: Harness) -> None:
    alice, bob, carol = [await new_user(harness, n) for n in ("Alice", "Bob", "Carol")]
    policy = await new_policy(harness, [[alice], [bob]])
    incident = await create(harness, escalation_policy={"id": policy, "type": "escalation_policy_reference"})
    for reopen in ({"assignments": [{"assignee": {"id": carol, "type": "user_reference"}}]},
                   {"escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}):
        assert (await put(harness, incident["id"], status="resolved")).status_code == 200
        r = await put(harness, incident["id"], status="triggered", escalation_level=2, **reopen)
        assert r.status_code == 200, r.text
        assert (r.json()["incident"]["status"], assignee_ids(r.json()["incident"])) == ("triggered", [bob])
        assert (await log_types(harness, incident["id"]))[-3:] == [
            "trigger_log_entry", "assign_log_entry", "escalate_log_entry"]
    assert (await put(harness, incident["id"], status="resolved")).status_code == 200
    error = assert_error(await put(harness, incident["id"], status="triggered", escalation_level=3,
                                   assignments=[{"assignee": {"id": carol, "type": "user_reference"}}]), 400, 2001)
    assert error["errors"] == ["incident.escalation_level must be between 1 and 2"]
    assert (await get(harness, f"/incidents/{incident['id']}"))["incident"]["status"] == "resolved"  # nothing written
