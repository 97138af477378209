"""GET /audit/records and the per-resource trails: PagerDuty's shape, filters, window and cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tocsin.audit.models import AuditRecord
from tocsin.audit.recorder import Actor, record
from tocsin.auth.models import User
from tocsin.ids import new_id

ALICE = Actor(type="user_reference", id="PALICE1", summary="Alice", truncated_token="abcd")
ROBOT = Actor(type="app_reference", id="PROBOT1", summary="Robot", method_type="oauth")


@pytest.fixture
async def trail(harness: Harness) -> Harness:
    """The harness with an empty audit trail (``tocsin init`` audits what it creates)."""
    async with harness.tocsin.db.transaction() as session:
        await session.execute(delete(AuditRecord))
    return harness


async def add(h: Harness, n: int, *, at: datetime | None = None, step: timedelta = timedelta(seconds=1),
              actor: Actor = ALICE, resource_type: str = "service", resource_id: str = "PSERV01",
              action: str = "update") -> None:
    """``n`` records, one ``step`` apart going back from ``at`` (a zero step makes ties)."""
    at = at or datetime.now(UTC) - timedelta(minutes=1)
    async with h.tocsin.db.transaction() as session:
        for i in range(n):
            record(session, actor, action=action, resource_type=resource_type, resource_id=resource_id,
                   summary="Web", before={"name": f"v{i}"} if action != "create" else None,
                   after={"name": f"v{i + 1}"} if action != "delete" else None, at=at - step * i)


async def records(h: Harness, query: str = "", path: str = "/audit/records") -> dict[str, Any]:
    r = await h.client.get(f"{path}{query}", headers=h.auth)
    assert r.status_code == 200, r.text
    return r.json()


async def test_shape_conforms_to_pagerduty(trail: Harness) -> None:
    harness = trail
    await add(harness, 2)
    await add(harness, 1, actor=ROBOT, action="create", resource_type="team", resource_id="PTEAM01",
              at=datetime.now(UTC) - timedelta(minutes=10))
    r = await harness.client.get("/audit/records", headers=harness.auth)
    assert_conforms(r, "GET", "/audit/records")
    body = r.json()
    assert body["limit"] == 25 and body["next_cursor"] is None and len(body["records"]) == 3
    newest = body["records"][0]
    assert newest["root_resource"]["type"] == "service_reference" and newest["action"] == "update"
    assert newest["actors"][0]["type"] == "user_reference" and newest["actors"][0]["summary"] == "Alice"
    assert newest["method"] == {"type": "api_token", "truncated_token": "abcd", "description": None}
    assert newest["details"]["fields"] == [{"name": "name", "before_value": "v0", "value": "v1"}]
    assert newest["execution_time"].endswith("Z") and len(newest["execution_time"]) == 24  # ms precision


async def test_cursor_pages_cover_everything_once_in_a_stable_order(trail: Harness) -> None:
    harness = trail
    base = datetime.now(UTC) - timedelta(minutes=5)
    await add(harness, 9, at=base)                               # distinct times
    await add(harness, 8, at=base - timedelta(seconds=3), step=timedelta(0))  # eight records tied on one time
    seen: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        body = await records(harness, f"?limit=4{'&cursor=' + cursor if cursor else ''}")
        assert body["limit"] == 4 and len(body["records"]) <= 4
        seen += body["records"]
        pages += 1
        if pages == 2:  # a record written while paging is newer than the cursor: never on a later page
            await add(harness, 1, at=datetime.now(UTC))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 5 and len(seen) == 17
    assert len({r["id"] for r in seen}) == 17
    keys = [(r["execution_time"], r["id"]) for r in seen]
    assert keys == sorted(keys, reverse=True)


async def test_filters(trail: Harness) -> None:
    harness = trail
    await add(harness, 2)
    await add(harness, 1, actor=ROBOT, action="create", resource_type="team", resource_id="PTEAM01")
    await add(harness, 1, action="delete", resource_type="user", resource_id="PUSER01")
    ids = lambda body: [(r["root_resource"]["id"], r["action"]) for r in body["records"]]  # noqa: E731
    assert ids(await records(harness, "?root_resource_types[]=teams&root_resource_types[]=users")) == [
        ("PUSER01", "delete"), ("PTEAM01", "create")]
    assert ids(await records(harness, "?actor_type=app_reference&actor_id=PROBOT1")) == [("PTEAM01", "create")]
    assert ids(await records(harness, "?actor_type=app_reference&actor_id=PALICE1")) == []
    assert ids(await records(harness, "?method_type=oauth")) == [("PTEAM01", "create")]
    assert ids(await records(harness, "?method_type=api_token&method_truncated_token=abcd")) != []
    assert ids(await records(harness, "?actions[]=delete")) == [("PUSER01", "delete")]


async def test_default_window_is_24_hours_and_since_until_select_older_records(trail: Harness) -> None:
    harness = trail
    now = datetime.now(UTC)
    await add(harness, 1, at=now - timedelta(hours=25), resource_id="POLD001")
    await add(harness, 1, at=now - timedelta(hours=1), resource_id="PNEW001")
    assert [r["root_resource"]["id"] for r in (await records(harness))["records"]] == ["PNEW001"]
    since = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (now - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    got = await records(harness, f"?since={since}&until={until}")
    assert [r["root_resource"]["id"] for r in got["records"]] == ["POLD001"]


@pytest.mark.parametrize(("query", "field"), [
    ("?limit=0", "limit"), ("?limit=abc", "limit"), ("?cursor=not-a-cursor", "cursor"),
    ("?since=yesterday", "since"), ("?until=2026-13-01", "until"),
    ("?since=2026-03-01T00:00:00Z&until=2026-02-01T00:00:00Z", "since"),
    ("?since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z", "31 days"),
    ("?actor_type=robot", "actor_type"), ("?actor_id=PALICE1", "actor_id"),
    ("?method_type=carrier_pigeon", "method_type"), ("?method_truncated_token=abcd", "method_truncated_token"),
    ("?root_resource_types[]=incidents", "root_resource_types"), ("?actions[]=explode", "actions"),
])
async def test_bad_parameters_are_400_naming_the_field(trail: Harness, query: str, field: str) -> None:
    harness = trail
    error = assert_error(await harness.client.get(f"/audit/records{query}", headers=harness.auth), 400, 2001)
    assert any(field in e for e in error["errors"]), error


async def test_limit_above_the_maximum_is_capped(trail: Harness) -> None:
    harness = trail
    assert (await records(harness, "?limit=1000"))["limit"] == 100


async def _admin_id(h: Harness) -> str:
    async with h.tocsin.db.transaction() as session:
        return (await session.execute(select(User.id).where(User.email == h.seed.admin_email))).scalar_one()


@pytest.mark.parametrize("collection", ["users", "services", "schedules", "escalation_policies", "teams"])
async def test_per_resource_trails(trail: Harness, collection: str) -> None:
    harness = trail
    root_type = {"users": "user", "services": "service", "schedules": "schedule",
                 "escalation_policies": "escalation_policy", "teams": "team"}[collection]
    existing = {"users": await _admin_id(harness), "services": harness.seed.service_id,
                "escalation_policies": harness.seed.escalation_policy_id}.get(collection)
    # Schedules and teams: a resource known only from its trail (e.g. since deleted).
    resource_id = existing or new_id()
    await add(harness, 3, resource_type=root_type, resource_id=resource_id)
    await add(harness, 2, resource_type=root_type, resource_id="POTHER1")
    r = await harness.client.get(f"/{collection}/{resource_id}/audit/records?limit=2", headers=harness.auth)
    assert_conforms(r, "GET", f"/{collection}/{{id}}/audit/records")
    first = r.json()
    assert [x["root_resource"]["id"] for x in first["records"]] == [resource_id] * 2
    rest = await records(harness, f"?cursor={first['next_cursor']}&limit=2",
                         f"/{collection}/{resource_id}/audit/records")
    assert len(rest["records"]) == 1 and rest["next_cursor"] is None
    assert_error(await harness.client.get(f"/{collection}/PXXXXXX/audit/records", headers=harness.auth), 404, 2100)
    assert_error(await harness.client.get(f"/{collection}/{resource_id}/audit/records?limit=-1",
                                          headers=harness.auth), 400, 2001)


def _forged(at: object, record_id: object) -> str:
    import base64
    import json
    return base64.urlsafe_b64encode(json.dumps([at, record_id]).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    _forged("0001-01-01T00:00:00+14:00", "PX"),   # before year 1 in UTC
    _forged("9999-12-31T23:59:59-14:00", "PX"),   # after year 9999 in UTC
    _forged("2026-01-01T00:00:00+00:00", "P\u0000X"),
    _forged("2026-01-01T00:00:00+00:00", "P" * 500),
    _forged("2026-01-01T00:00:00+00:00", ""),
])
async def test_forged_cursors_are_400_not_500(trail: Harness, cursor: str) -> None:
    harness = trail
    error = assert_error(await harness.client.get("/audit/records", params={"cursor": cursor},
                                                  headers=harness.auth), 400, 2001)
    assert any("cursor" in e for e in error["errors"]), error
