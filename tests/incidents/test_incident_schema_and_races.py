"""The 0006 migration makes exactly the incident surface's ORM schema, and concurrent creations
with one incident_key cannot both succeed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from tests.conftest import Harness
from tocsin.db.migrate import upgrade
from tocsin.migrations.models import metadata

MINE = {"incident_assignments", "incident_notes", "priorities"}
NEW_INCIDENT_COLUMNS = {"escalation_level", "snoozed_until", "merged_into_id", "details", "conference_bridge"}


def _touches_mine(diff: object) -> bool:
    text = repr(diff)
    return any(f"'{t}'" in text for t in MINE) or any(f"'{c}'" in text for c in NEW_INCIDENT_COLUMNS)


def test_migration_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert [d for d in diffs if _touches_mine(d)] == []


async def test_concurrent_creations_with_one_key_make_one_incident(harness: Harness) -> None:
    body = {"incident": {"type": "incident", "title": "Race", "incident_key": "race/1",
                         "service": {"id": harness.seed.service_id, "type": "service_reference"}}}
    answers = await asyncio.gather(*[
        harness.client.post("/incidents", headers=harness.writer, json=body) for _ in range(6)])
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 400, 400, 400, 400, 400], [r.text for r in answers]
    listed = await harness.client.get("/incidents", headers=harness.auth,
                                      params={"incident_key": "race/1", "total": "true"})
    assert listed.json()["total"] == 1


async def test_bulk_resolve_racing_an_event_acknowledge(harness: Harness) -> None:
    """A REST bulk resolve and an event acknowledging the same incidents, at once: every
    incident ends resolved (a resolved incident is never reopened by a late acknowledge)."""
    for n in range(5):
        assert (await harness.send(harness.event(dedup_key=f"br/{n}"))).status_code == 202
    await harness.process()
    listed = (await harness.client.get("/incidents", headers=harness.auth)).json()["incidents"]
    ids = [i["id"] for i in listed]
    assert len(ids) == 5
    for n in range(5):
        assert (await harness.send(harness.event("acknowledge", f"br/{n}"))).status_code == 202
    bulk = harness.client.put("/incidents", headers=harness.writer, json={"incidents": [
        {"id": i, "type": "incident_reference", "status": "resolved"} for i in ids]})
    answer, _ = await asyncio.gather(bulk, harness.process())
    assert answer.status_code == 200, answer.text
    await harness.process()
    final = (await harness.client.get("/incidents", headers=harness.auth,
                                      params={"statuses[]": "resolved", "total": "true"})).json()
    assert final["total"] == 5
