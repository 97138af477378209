"""``record_without_change``: the set-based writer of records that change no incident (a batch of
sends' outcomes), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from tests.conftest import Harness
from tests.incidents.helpers import admin_id, create, new_user
from tocsin.incidents.models import Incident, LogEntry
from tocsin.incidents.transition_records import Acknowledge, Act, Annotate, Escalate, Notify, Record
from tocsin.incidents.transition_writer import change, record_without_change, recorded, snapshot, user_ref
from tocsin.incidents.transitions import decide

AT = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)


def _notified(incident: Incident, user_id: str, address: str, status: str) -> list[Record]:
    notification = {"type": "email_notification", "status": status, "address": address}
    act = Act(at=AT, agent=user_ref(user_id),
              channel={"type": "auto", "notification": notification, "user": user_ref(user_id)})
    return decide(snapshot(incident), Notify(user_id, "email_notification", address, status), act)


async def _entries(h: Harness, incident_ids: list[str]) -> list[LogEntry]:
    async with h.tocsin.db.transaction() as session:
        rows = await session.scalars(select(LogEntry).where(LogEntry.incident_id.in_(incident_ids),
                                                            LogEntry.type == "notify_log_entry")
                                     .order_by(LogEntry.created_at, LogEntry.id))
        return list(rows)


async def test_a_batch_of_outcomes_of_several_incidents_is_logged_in_one_insert(harness: Harness) -> None:
    admin, ops = await admin_id(harness), await new_user(harness, "Opsperson")
    incidents = [await create(harness, title=f"Batch {n}") for n in range(3)]
    ids = [i["id"] for i in incidents]
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = harness.tocsin.db.engine.sync_engine
    async with harness.tocsin.db.transaction() as session:
        loaded = {i.id: i for i in await session.scalars(select(Incident).where(Incident.id.in_(ids)))}
        first, second, third = (loaded[i] for i in ids)
        # Two outcomes of the first incident at one instant, then one each of the others; one failed.
        records = [*_notified(first, admin, "admin@example.com", "success"),
                   *_notified(first, ops, "ops@example.com", "failed"),
                   *_notified(second, ops, "ops@example.com", "success"),
                   *_notified(third, admin, "+15551230001", "success")]
        event.listen(engine, "before_cursor_execute", seen)
        try:
            await record_without_change(session, lambda i: loaded[i].service_id, records)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert recorded(session)[-4:] == records  # the engine and the webhooks see them

    assert len([s for s in statements if s.startswith("INSERT INTO log_entries")]) == 1
    assert len([s for s in statements if "FROM users" in s]) == 1  # every name in one query
    assert not [s for s in statements if s.startswith("UPDATE")]  # no incident row touched

    rows = await _entries(harness, ids)
    assert sorted((r.incident_id, r.summary) for r in rows) == sorted([
        (ids[0], "Notified Administrator by EMAIL (admin@example.com): success."),
        (ids[0], "Notified Opsperson by EMAIL (ops@example.com): failed."),
        (ids[1], "Notified Opsperson by EMAIL (ops@example.com): success."),
        (ids[2], "Notified Administrator by EMAIL (+15551230001): success."),
    ])
    by_incident: dict[str, list[LogEntry]] = {}
    for row in rows:
        by_incident.setdefault(row.incident_id, []).append(row)
    first_two = by_incident[ids[0]]
    assert [r.summary for r in first_two] == ["Notified Administrator by EMAIL (admin@example.com): success.",
                                              "Notified Opsperson by EMAIL (ops@example.com): failed."]
    # One instant: the second entry is put a microsecond after the first, so the log keeps the order.
    assert [r.created_at.replace(tzinfo=UTC) for r in first_two] == [AT, AT + timedelta(microseconds=1)]
    assert first_two[1].channel["notification"]["status"] == "failed"
    assert {r.service_id for r in rows} == {harness.seed.service_id}
    assert all(r.agent is not None and r.agent["type"] == "user_reference" for r in rows)


async def test_stamps_follow_a_change_made_earlier_in_the_transaction(harness: Harness) -> None:
    admin = await admin_id(harness)
    incident = await create(harness)
    async with harness.tocsin.db.transaction() as session:
        loaded = await session.get(Incident, incident["id"])
        assert loaded is not None
        await change(session, loaded, Annotate(), Act(at=AT, agent=user_ref(admin), channel={"type": "api"},
                                                        summary="a note"))
        await record_without_change(session, lambda _: loaded.service_id,
                                    _notified(loaded, admin, "admin@example.com", "success"))
    async with harness.tocsin.db.transaction() as session:
        rows = list(await session.scalars(select(LogEntry).where(LogEntry.incident_id == incident["id"],
                                                                 LogEntry.created_at >= AT)
                                          .order_by(LogEntry.created_at)))
    assert [(r.type, r.created_at.replace(tzinfo=UTC)) for r in rows] == [
        ("annotate_log_entry", AT), ("notify_log_entry", AT + timedelta(microseconds=1))]


@pytest.mark.parametrize("command", [Acknowledge(acknowledger={"id": "PX", "type": "user_reference"}),
                                     Escalate(level=2, users=("PNOBODY",))])
async def test_a_record_that_changes_its_incident_is_refused(harness: Harness, command: Any) -> None:
    admin, incident = await admin_id(harness), await create(harness)
    async with harness.tocsin.db.transaction() as session:
        loaded = await session.get(Incident, incident["id"])
        assert loaded is not None
        changing = decide(snapshot(loaded), command, Act(at=AT, agent=user_ref(admin), channel={"type": "api"}))
        assert changing
        with pytest.raises(ValueError, match="changes its incident"):
            await record_without_change(session, lambda _: loaded.service_id,
                                        [*_notified(loaded, admin, "a@example.com", "success"), *changing])
        assert recorded(session) == []
    assert await _entries(harness, [incident["id"]]) == []
