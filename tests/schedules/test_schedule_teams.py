"""Schedule teams (PagerDuty's ``schedule.teams``, ``GET /schedules?team_ids[]``) and the one
rendering budget of ``GET /schedules?include[]=...`` — on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tests.schedules.helpers import clock, create, fetch, layer, make_user, schedule_body
from tocsin.audit.models import AuditRecord
from tocsin.db.migrate import alembic_config
from tocsin.migrations.models import metadata
from tocsin.schedules import rendering
from tocsin.schedules.models import Schedule, ScheduleTeam

WINDOW = {"since": "2030-01-07T00:00:00Z", "until": "2030-01-21T00:00:00Z"}
MINE = {"schedule_teams"}


async def make_team(h: Harness, name: str) -> str:
    r = await h.client.post("/teams", headers=h.writer, json={"team": {"type": "team", "name": name}})
    assert r.status_code == 201, r.text
    return r.json()["team"]["id"]


def ref(team_id: str) -> dict[str, str]:
    return {"id": team_id, "type": "team_reference"}


def team_ids(schedule: dict[str, Any]) -> list[str]:
    return [t["id"] for t in schedule["teams"]]


async def listed(h: Harness, **params: Any) -> list[str]:
    r = await h.client.get("/schedules", headers=h.auth, params=params)
    assert r.status_code == 200, r.text
    assert_conforms(r, "GET", "/schedules")
    return [s["id"] for s in r.json()["schedules"]]


async def audit(h: Harness, schedule_id: str) -> list[AuditRecord]:
    async with h.tocsin.db.transaction() as session:
        return list((await session.execute(
            select(AuditRecord).where(AuditRecord.root_type == "schedule", AuditRecord.root_id == schedule_id)
            .order_by(AuditRecord.execution_time, AuditRecord.id))).scalars())


async def counts(h: Harness) -> tuple[int, int, int]:
    async with h.tocsin.db.transaction() as session:
        return (
            await session.scalar(select(func.count()).select_from(Schedule)) or 0,
            await session.scalar(select(func.count()).select_from(ScheduleTeam)) or 0,
            await session.scalar(select(func.count()).select_from(AuditRecord)
                                 .where(AuditRecord.root_type == "schedule")) or 0,
        )


# --- schedule teams -------------------------------------------------------------------------------

async def test_teams_are_set_rendered_as_references_and_changed(h: Harness) -> None:
    a = await make_user(h, "Ann")
    ops, web = await make_team(h, "Ops"), await make_team(h, "Web")
    r = await h.client.post("/schedules", headers=h.writer,
                            json=schedule_body([a], teams=[ref(web), ref(ops), ref(web)]))  # a repeat counts once
    assert r.status_code == 201, r.text
    assert_conforms(r, "POST", "/schedules")
    created = r.json()["schedule"]
    assert created["teams"] == [
        {"id": ops, "type": "team_reference", "summary": "Ops", "self": created["teams"][0]["self"],
         "html_url": created["teams"][0]["html_url"]},
        {"id": web, "type": "team_reference", "summary": "Web", "self": created["teams"][1]["self"],
         "html_url": created["teams"][1]["html_url"]},
    ]
    assert created["teams"][0]["self"].endswith(f"/teams/{ops}")
    sid = created["id"]
    r = await h.client.get(f"/schedules/{sid}", headers=h.auth)
    assert_conforms(r, "GET", "/schedules/{id}")
    assert team_ids(r.json()["schedule"]) == [ops, web]

    # PUT without teams keeps them; with teams replaces them; an empty list clears them.
    r = await h.client.put(f"/schedules/{sid}", headers=h.writer, json={"schedule": {"name": "Renamed"}})
    assert_conforms(r, "PUT", "/schedules/{id}")
    assert team_ids(r.json()["schedule"]) == [ops, web]
    r = await h.client.put(f"/schedules/{sid}", headers=h.writer, json={"schedule": {"teams": [{"id": web}]}})
    assert r.status_code == 200, r.text
    assert team_ids(r.json()["schedule"]) == [web] == team_ids(await fetch(h, sid))
    r = await h.client.put(f"/schedules/{sid}", headers=h.writer, json={"schedule": {"teams": []}})
    assert team_ids(r.json()["schedule"]) == [] == team_ids(await fetch(h, sid))

    # The rendered list, the feed rotation and a preview show teams too.
    await h.client.put(f"/schedules/{sid}", headers=h.writer, json={"schedule": {"teams": [ref(ops)]}})
    r = await h.client.get("/schedules", headers=h.auth, params={"include[]": "final_schedule", **WINDOW})
    assert [team_ids(s) for s in r.json()["schedules"]] == [[ops]]
    r = await h.client.post(f"/schedules/{sid}/feed/rotate", headers=h.writer)
    assert team_ids(r.json()["schedule"]) == [ops]
    r = await h.client.post("/schedules/preview", headers=h.writer, json=schedule_body([a], teams=[ref(web)]))
    assert r.status_code == 200, r.text
    assert team_ids(r.json()["schedule"]) == [web]

    # A deleted team is no longer shown.
    assert (await h.client.delete(f"/teams/{ops}", headers=h.writer)).status_code == 204
    assert team_ids(await fetch(h, sid)) == []


async def test_list_filters_by_team_ids(h: Harness) -> None:
    a = await make_user(h, "Ann")
    ops, web = await make_team(h, "Ops"), await make_team(h, "Web")
    s1 = (await create(h, [a], name="A", teams=[ref(ops)]))["id"]
    s2 = (await create(h, [a], name="B", teams=[ref(ops), ref(web)]))["id"]
    s3 = (await create(h, [a], name="C"))["id"]
    assert await listed(h) == [s1, s2, s3]
    assert await listed(h, **{"team_ids[]": ops}) == [s1, s2]
    assert await listed(h, **{"team_ids[]": web}) == [s2]
    assert await listed(h, **{"team_ids[]": [ops, web]}) == [s1, s2]  # each schedule once
    assert await listed(h, **{"team_ids[]": "PNOPE12"}) == []
    r = await h.client.get("/schedules", headers=h.auth, params={"team_ids[]": ops, "limit": 1, "total": "true"})
    assert (r.json()["total"], r.json()["more"], [s["id"] for s in r.json()["schedules"]]) == (2, True, [s1])
    assert (await h.client.delete(f"/teams/{web}", headers=h.writer)).status_code == 204
    assert await listed(h, **{"team_ids[]": web}) == []  # a deleted team matches nothing
    # PagerDuty's include[] for schedules has no "teams": teams are always references.
    assert_error(await h.client.get("/schedules", headers=h.auth, params={"include[]": "teams"}), 400, 2001)


async def test_unknown_or_bad_teams_are_400_and_write_nothing(h: Harness) -> None:
    a = await make_user(h, "Ann")
    ops, gone = await make_team(h, "Ops"), await make_team(h, "Gone")
    assert (await h.client.delete(f"/teams/{gone}", headers=h.writer)).status_code == 204
    before = await counts(h)

    r = await h.client.post("/schedules", headers=h.writer,
                            json=schedule_body([a, "PNOPE99"], teams=[ref(ops), ref("PNOPE12"), ref(gone)]))
    error = assert_error(r, 400, 2001)
    assert "schedule.teams[1].id: team PNOPE12 not found" in error["errors"]
    assert f"schedule.teams[2].id: team {gone} not found" in error["errors"]
    assert any(e.startswith("schedule.schedule_layers[0].users[1].user.id") for e in error["errors"])  # all at once
    for teams in (None, "Ops", [{"type": "team_reference"}], [{"id": ops, "type": "user_reference"}],
                  [ref(ops)] * 11):
        r = await h.client.post("/schedules", headers=h.writer, json=schedule_body([a], teams=teams))
        assert any("schedule.teams" in e for e in assert_error(r, 400, 2001)["errors"]), (teams, r.text)
    r = await h.client.post("/schedules/preview", headers=h.writer, json=schedule_body([a], teams=[ref("PNOPE12")]))
    assert "schedule.teams[0].id: team PNOPE12 not found" in assert_error(r, 400, 2001)["errors"]
    assert await counts(h) == before

    sid = (await create(h, [a], teams=[ref(ops)]))["id"]
    before = await counts(h)
    r = await h.client.put(f"/schedules/{sid}", headers=h.writer,
                           json={"schedule": {"name": "Changed", "teams": [ref("PNOPE12")]}})
    assert "schedule.teams[0].id: team PNOPE12 not found" in assert_error(r, 400, 2001)["errors"]
    r = await h.client.put(f"/schedules/{sid}", headers=h.writer, json={"schedule": {"name": "Changed", "teams": None}})
    assert_error(r, 400, 2001)
    after = await fetch(h, sid)
    assert (after["name"], team_ids(after)) == ("Primary", [ops])
    assert await counts(h) == before


async def test_team_changes_are_audited(h: Harness) -> None:
    a = await make_user(h, "Ann")
    ops, web = await make_team(h, "Ops"), await make_team(h, "Web")
    sid = (await create(h, [a], teams=[ref(ops)]))["id"]
    for teams in ([ref(web), ref(ops)], [ref(ops), ref(web)], []):
        clock(h).advance(minutes=1)  # records in order
        r = await h.client.put(f"/schedules/{sid}", headers=h.writer, json={"schedule": {"teams": teams}})
        assert r.status_code == 200, r.text
    records = await audit(h, sid)
    assert [rec.action for rec in records] == ["create", "update", "update"]  # the reorder changed nothing
    created = {f["name"]: f for f in records[0].fields}
    assert created["teams"]["value"] == f'["{ops}"]'
    added = {f["name"]: f for f in records[1].fields}
    assert set(added) == {"teams"}
    assert added["teams"] == {"name": "teams", "before_value": f'["{ops}"]',
                              "value": str(sorted([ops, web])).replace("'", '"')}
    cleared = {f["name"]: f for f in records[2].fields}
    assert cleared["teams"]["value"] == "[]"


async def test_migration_matches_the_models(h: Harness) -> None:
    def diffs(connection: Any) -> list[Any]:
        found = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
        return [d for d in found if any(f"'{t}'" in repr(d) for t in MINE)]

    async with h.tocsin.db.engine.connect() as conn:
        assert await conn.run_sync(diffs) == []


async def test_migration_0009_downgrades_and_upgrades_schedule_teams(h: Harness) -> None:
    def tables(connection: Any) -> set[str]:
        return set(inspect(connection).get_table_names())

    def migrate(connection: Any, step: Any, revision: str) -> None:
        step(alembic_config(h.db_url, connection), revision)

    async with h.tocsin.db.engine.begin() as conn:
        assert "schedule_teams" in await conn.run_sync(tables)
        await conn.run_sync(migrate, command.downgrade, "0008")
        assert "schedule_teams" not in await conn.run_sync(tables)
        await conn.run_sync(migrate, command.upgrade, "head")
        assert "schedule_teams" in await conn.run_sync(tables)
    a = await make_user(h, "Ann")
    assert team_ids(await create(h, [a], teams=[ref(await make_team(h, "Ops"))])) != []


# --- one rendering budget per GET /schedules ------------------------------------------------------

DENSE_WINDOW = {"since": "2030-02-01T00:00:00Z", "until": "2030-02-15T00:00:00Z"}


async def dense_schedules(h: Harness, count: int, turn_seconds: int = 7) -> list[str]:
    """Schedules turning every ``turn_seconds`` (7: 172,801 turns each over DENSE_WINDOW, under
    the per-schedule limit), starting after the default window so creating them renders nothing."""
    a, b = await make_user(h, "Ann"), await make_user(h, "Bob")
    dense = layer([a, b], start="2030-02-01T00:00:00Z", rotation_virtual_start="2030-02-01T00:00:00Z",
                  rotation_turn_length_seconds=turn_seconds)
    ids = []
    for n in range(count):
        ids.append((await create(h, [a], name=f"Dense {n}", schedule_layers=[dense]))["id"])
    return ids


async def test_a_page_of_dense_schedules_is_refused_before_rendering(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await dense_schedules(h, 6)  # 6 x 172,800 turns: over 1,000,000
    assert rendering.MAX_TURNS >= 172_800 and rendering.MAX_TOTAL_TURNS == 1_000_000

    def must_not_render(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("rendered before the page's budget was checked")

    monkeypatch.setattr(rendering, "render_schedule", must_not_render)
    for include in ("schedule_layers", "overrides_subschedule", "final_schedule"):
        r = await h.client.get("/schedules", headers=h.auth, params={"include[]": include, **DENSE_WINDOW})
        error = assert_error(r, 400, 2001)
        assert any("since/until" in e and "limit" in e for e in error["errors"]), error
    # Without include[] nothing is rendered, so nothing is refused.
    assert len(await listed(h, **DENSE_WINDOW)) == 6


async def test_the_budget_counts_the_page_and_the_window(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    await dense_schedules(h, 3, turn_seconds=600)  # 2,017 turns each over DENSE_WINDOW
    monkeypatch.setattr(rendering, "MAX_TOTAL_TURNS", 5_000)
    params = {"include[]": "final_schedule", **DENSE_WINDOW}
    assert_error(await h.client.get("/schedules", headers=h.auth, params=params), 400, 2001)
    r = await h.client.get("/schedules", headers=h.auth, params={**params, "limit": 2})  # a smaller page
    assert r.status_code == 200, r.text
    assert_conforms(r, "GET", "/schedules")
    assert [len(s["final_schedule"]["rendered_schedule_entries"]) for s in r.json()["schedules"]] == [2016, 2016]
    narrower = {"since": "2030-02-01T00:00:00Z", "until": "2030-02-08T00:00:00Z"}  # a narrower window
    r = await h.client.get("/schedules", headers=h.auth, params={"include[]": "final_schedule", **narrower})
    assert r.status_code == 200, r.text
    assert len(r.json()["schedules"]) == 3
