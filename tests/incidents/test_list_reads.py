"""GET /incidents and /log_entries at the query level: every filter and sort gives the rows its
definition says, page by page, on both databases; a page costs a fixed number of statements
whatever its size; and the count runs only when ``total=true`` asks for it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.conftest import Harness
from tests.helpers import create_policy, default_policy, statements_run
from tocsin.auth.models import User
from tocsin.db.base import table_of
from tocsin.ids import new_id
from tocsin.incidents.models import Incident, IncidentAssignment, LogEntry, Priority

NOW = datetime.now(UTC).replace(microsecond=0)
STATUSES = ("resolved", "triggered", "acknowledged", "resolved", "triggered")


async def seed(h: Harness, count: int = 24) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``count`` incidents over two services and two policies (one with a team), mixed statuses
    and urgencies, some sharing a creation time (ties break on the number), one 40 days old
    (outside the default window). Returns the rows as inserted and the ids used."""
    r = await h.client.post("/teams", headers=h.writer, json={"team": {"name": "Core"}})
    team = r.json()["team"]["id"]
    policy = await create_policy(h, "Core policy", teams=[{"id": team, "type": "team_reference"}])
    r = await h.client.post("/services", headers=h.writer, json={"service": {
        "name": "Second", "escalation_policy": {"id": policy["id"], "type": "escalation_policy_reference"}}})
    assert r.status_code == 201, r.text
    second = r.json()["service"]["id"]
    async with h.tocsin.db.transaction() as session:
        admin = (await session.execute(select(User.id).where(User.email == h.seed.admin_email))).scalar_one()
        priority = (await session.execute(select(Priority.id).limit(1))).scalar_one()
    ids = {"team": team, "policy": policy["id"], "default_policy": default_policy(h)["id"],
           "first": h.seed.service_id or "", "second": second, "admin": admin}
    rows = []
    for n in range(1, count + 1):
        status = STATUSES[n % len(STATUSES)]
        at = NOW - timedelta(days=40) if n == 1 else NOW - timedelta(hours=count - n // 2)  # pairs tie
        service, policy_id = (second, ids["policy"]) if n % 3 == 0 else (ids["first"], ids["default_policy"])
        rows.append({
            "id": new_id(), "number": n, "title": f"incident {n}", "status": status,
            "urgency": "low" if n % 4 == 0 else "high", "service_id": service, "incident_key": f"k{n}",
            "escalation_policy_id": policy_id, "priority_id": priority if n % 5 == 0 else None,
            "acknowledgements": [], "created_at": at, "updated_at": at, "last_status_change_at": at,
            "last_status_change_by": {"id": service, "type": "service_reference"},
            "resolved_at": at + timedelta(minutes=n) if status == "resolved" else None,
            "assignments": [] if status == "resolved" else
            [{"at": at.isoformat(), "assignee": {"id": admin, "type": "user_reference"}}],
        })
    async with h.tocsin.db.transaction() as session:
        await session.execute(insert(table_of(Incident)), rows)
        opened = [r for r in rows if r["status"] != "resolved" and r["number"] % 2]  # half assigned
        await session.execute(insert(table_of(IncidentAssignment)),
                              [{"incident_id": r["id"], "user_id": admin, "at": r["created_at"]} for r in opened])
        await session.execute(insert(table_of(LogEntry)), [{
            "id": new_id(), "type": "trigger_log_entry", "incident_id": r["id"], "alert_id": None,
            "service_id": r["service_id"], "created_at": r["created_at"], "summary": "Triggered.",
            "agent": {"id": admin, "type": "user_reference"} if r["number"] % 2 else r["last_status_change_by"],
            "channel": {"type": "web_api"}} for r in rows])
    for row in rows:
        row["assigned"] = row in opened
    return rows, ids


def expected(rows: list[dict[str, Any]], keep: Any, sort: str = "created_at", descending: bool = False) -> list[int]:
    """Incident numbers in the order the API defines: the sort column, then the number ascending."""
    def key(r: dict[str, Any]) -> Any:
        return {"created_at": r["created_at"].timestamp(), "incident_number": r["number"],
                "urgency": 1 if r["urgency"] == "high" else 0}[sort]
    kept = [r for r in rows if keep(r)]
    kept.sort(key=lambda r: r["number"])
    kept.sort(key=key, reverse=descending)  # stable: ties keep the ascending numbers
    return [r["number"] for r in kept]


async def walk(h: Harness, limit: int, **params: Any) -> list[int]:
    """Every page of the query, checking ``more`` and ``total`` on each."""
    numbers: list[int] = []
    offset = 0
    while True:
        r = await h.client.get("/incidents", headers=h.auth, params={**params, "limit": limit, "offset": offset})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] is None  # not asked for
        page = [i["incident_number"] for i in body["incidents"]]
        numbers += page
        assert len(page) <= limit
        if not body["more"]:
            return numbers
        assert len(page) == limit, body  # more=true only after a full page
        offset += limit


def in_window(r: dict[str, Any]) -> bool:
    return bool(r["created_at"] >= NOW - timedelta(days=30))


@pytest.mark.parametrize("limit", [1, 4, 25])
async def test_filters_sorts_and_pages_give_the_defined_rows(harness: Harness, limit: int) -> None:
    rows, ids = await seed(harness)
    open_ = ("triggered", "acknowledged")
    cases: list[tuple[dict[str, Any], list[int]]] = [
        ({}, expected(rows, in_window, descending=False)),
        ({"sort_by": "created_at:desc"}, expected(rows, in_window, descending=True)),
        ({"date_range": "all", "sort_by": "incident_number:desc"}, expected(rows, bool, "incident_number", True)),
        ({"statuses[]": "triggered", "sort_by": "created_at:desc"},
         expected(rows, lambda r: in_window(r) and r["status"] == "triggered", descending=True)),
        ({"statuses[]": list(open_)}, expected(rows, lambda r: in_window(r) and r["status"] in open_)),
        ({"statuses[]": list(open_), "sort_by": "created_at:desc"},
         expected(rows, lambda r: in_window(r) and r["status"] in open_, descending=True)),
        ({"statuses[]": ["resolved", "triggered"], "urgencies[]": "high", "sort_by": "created_at:desc"},
         expected(rows, lambda r: in_window(r) and r["status"] != "acknowledged" and r["urgency"] == "high",
                  descending=True)),
        ({"service_ids[]": ids["second"], "sort_by": "created_at:desc"},
         expected(rows, lambda r: in_window(r) and r["service_id"] == ids["second"], descending=True)),
        ({"team_ids[]": ids["team"]},
         expected(rows, lambda r: in_window(r) and r["escalation_policy_id"] == ids["policy"])),
        ({"user_ids[]": ids["admin"], "sort_by": "created_at:desc"},
         expected(rows, lambda r: in_window(r) and r["assigned"], descending=True)),
        ({"urgencies[]": "low", "sort_by": "urgency:desc"},
         expected(rows, lambda r: in_window(r) and r["urgency"] == "low")),
        ({"sort_by": "urgency:desc"}, expected(rows, in_window, "urgency", True)),
        ({"since": (NOW - timedelta(hours=16)).isoformat(), "until": (NOW - timedelta(hours=8)).isoformat()},
         expected(rows, lambda r: NOW - timedelta(hours=16) <= r["created_at"] < NOW - timedelta(hours=8))),
    ]
    for params, want in cases:
        assert want, params  # every case selects something
        assert await walk(harness, limit, **params) == want, params


async def test_total_is_counted_only_when_asked_and_matches_the_filter(harness: Harness) -> None:
    rows, _ = await seed(harness)
    opened = [r for r in rows if in_window(r) and r["status"] != "resolved"]
    params: dict[str, Any] = {"statuses[]": ["triggered", "acknowledged"], "limit": 3, "total": "true"}
    for offset in (0, 3, len(opened) - 3, len(opened)):
        r = await harness.client.get("/incidents", headers=harness.auth, params={**params, "offset": offset})
        body = r.json()
        assert body["total"] == len(opened)
        assert body["more"] is (offset + 3 < len(opened))


def statements(h: Harness) -> AbstractContextManager[list[str]]:
    """The SQL statements the app sends while the block runs (SQLite list reads use a read pool of
    their own: every engine is watched)."""
    return statements_run(h.tocsin.db)


async def sql_of(h: Harness, path: str, **params: Any) -> list[str]:
    await h.client.get(path, headers=h.auth, params=params)  # credentials cached, as in steady use
    with statements(h) as seen:
        r = await h.client.get(path, headers=h.auth, params=params)
        assert r.status_code == 200, r.text
    return seen


@pytest.mark.parametrize("path", ["/incidents", "/log_entries"])
async def test_a_page_costs_the_same_statements_whatever_its_size_and_counts_only_on_request(
    harness: Harness, path: str,
) -> None:
    await seed(harness, count=90)
    # Both pages hold every kind of row (two services and policies, a team, priorities,
    # assignees, user and service agents), so only the number of rows differs.
    twenty = await sql_of(harness, path, limit=20)
    hundred = await sql_of(harness, path, limit=100)
    assert len(twenty) == len(hundred), (twenty, hundred)  # batched lookups: nothing per row
    assert len(hundred) <= 10, hundred
    assert not [s for s in hundred if is_total(s)], hundred  # no total asked
    counted = await sql_of(harness, path, limit=100, total="true")
    assert len([s for s in counted if is_total(s)]) == 1


def is_total(sql: str) -> bool:
    """The page's count (not the per-incident alert counts, which group by incident)."""
    return sql.lower().startswith("select count(*)")


async def test_log_entries_render_incident_service_and_user_names(harness: Harness) -> None:
    rows, ids = await seed(harness, count=6)
    r = await harness.client.get("/log_entries", headers=harness.auth, params={"limit": 100})
    entries = r.json()["log_entries"]
    assert len(entries) == 5  # the 40-day-old incident's entry is outside the default window
    by_incident = {r["id"]: r for r in rows}
    for entry in entries:
        incident = by_incident[entry["incident"]["id"]]
        assert entry["incident"]["summary"] == f"[#{incident['number']}] {incident['title']}"
        assert entry["service"]["summary"] == ("Second" if incident["service_id"] == ids["second"] else
                                               entry["service"]["summary"])
        assert entry["service"]["summary"] != entry["service"]["id"]  # a name, not the id
        if entry["agent"]["type"] == "user_reference":
            assert entry["agent"]["summary"] != ids["admin"]
