"""A write refused by a database constraint is a PagerDuty-shaped 400 that says which rule it
broke: a unique value taken, or a reference to something gone (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from tests.conftest import Harness
from tocsin.db.base import table_of
from tocsin.incidents.models import Incident, LogEntry


def _add_probe_routes(harness: Harness) -> None:
    """Two routes whose writes break a constraint the way a concurrent change would."""
    rest = harness.tocsin.rest
    db = harness.tocsin.db

    @rest.post("/probe/unique")
    async def unique() -> dict[str, str]:
        async with db.transaction() as session:
            incident = (await session.execute(select(Incident))).scalars().first()
            assert incident is not None
            row = {c.name: getattr(incident, c.key) for c in Incident.__table__.columns}
            await session.execute(insert(table_of(Incident)), [{**row, "id": "PDUPLICATE1"}])  # same number
        return {}

    @rest.post("/probe/foreign_key")
    async def foreign_key() -> dict[str, str]:
        async with db.transaction() as session:
            await session.execute(insert(table_of(LogEntry)), [{
                "id": "PORPHAN0001", "type": "annotate_log_entry", "incident_id": "PNOSUCHINCIDENT",
                "service_id": harness.seed.service_id, "created_at": datetime.now(UTC), "summary": "x",
                "channel": {"type": "api"}}])
        return {}


async def test_unique_and_foreign_key_violations_are_told_apart(harness: Harness) -> None:
    await harness.send(harness.event(dedup_key="integrity/1"))
    await harness.process()
    _add_probe_routes(harness)

    taken = await harness.client.post("/probe/unique", headers=harness.writer)
    assert taken.status_code == 400, taken.text
    assert taken.json()["error"]["code"] == 2001
    [message] = taken.json()["error"]["errors"]
    assert "must be unique" in message and "nothing was written" in message

    gone = await harness.client.post("/probe/foreign_key", headers=harness.writer)
    assert gone.status_code == 400, gone.text
    assert gone.json()["error"]["code"] == 2001
    [message] = gone.json()["error"]["errors"]
    assert "no longer exists" in message and "unique" not in message
