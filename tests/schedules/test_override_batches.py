"""``POST /schedules/{id}/overrides`` with a list, as PagerDuty answers it: 1 to 100 items; a 201
with one result per item, each refused one with ``status`` 400, its ``errors`` and the override as
asked; a malformed item refuses the whole request and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tests.schedules.helpers import make_user
from tocsin.audit.models import AuditRecord
from tocsin.schedules.models import ScheduleOverride


async def _schedule(h: Harness, user: str) -> str:
    r = await h.client.post("/schedules", headers=h.writer, json={"schedule": {
        "name": "Primary", "time_zone": "Etc/UTC", "schedule_layers": [{
            "start": "2030-01-07T00:00:00Z", "rotation_virtual_start": "2030-01-07T00:00:00Z",
            "rotation_turn_length_seconds": 604800, "users": [{"user": {"id": user, "type": "user_reference"}}]}]}})
    assert r.status_code == 201, r.text
    return r.json()["schedule"]["id"]


def _item(start: str, end: str, user: str) -> dict[str, Any]:
    return {"start": start, "end": end, "user": {"id": user, "type": "user_reference"}}


async def _written(h: Harness) -> tuple[int, int]:
    async with h.tocsin.db.transaction() as session:
        rows = (await session.execute(select(func.count()).select_from(ScheduleOverride))).scalar_one()
        audits = (await session.execute(select(func.count()).select_from(AuditRecord)
                                        .where(AuditRecord.root_type == "override"))).scalar_one()
    return rows, audits


async def test_an_empty_list_is_refused(h: Harness) -> None:
    sid = await _schedule(h, await make_user(h, "Ann"))
    error = assert_error(await h.client.post(f"/schedules/{sid}/overrides", headers=h.writer,
                                             json={"overrides": []}), 400, 2001)
    assert any("overrides" in e for e in error["errors"]), error


async def test_refused_items_answer_in_pagerdutys_per_item_shape(h: Harness) -> None:
    ann, bob = await make_user(h, "Ann"), await make_user(h, "Bob")
    sid = await _schedule(h, ann)
    r = await h.client.post(f"/schedules/{sid}/overrides", headers=h.writer, json={"overrides": [
        _item("2030-01-10T00:00:00Z", "2030-01-11T00:00:00Z", bob),
        _item("2030-01-12T00:00:00Z", "2030-01-12T00:00:00Z", bob),  # ends as it starts
        _item("2030-01-13T00:00:00Z", "2030-01-14T00:00:00Z", "PNOBODY1"),
    ]})
    assert_conforms(r, "POST", "/schedules/{id}/overrides", 201)
    created, empty, unknown = r.json()
    assert (created["status"], created["override"]["user"]["id"], "errors" in created) == (201, bob, False)
    assert created["override"]["id"]
    assert empty["status"] == 400 and empty["errors"] == ["overrides[1].end: end must be after start"]
    asked = datetime(2030, 1, 12, tzinfo=UTC)
    assert [datetime.fromisoformat(empty["override"][k]) for k in ("start", "end")] == [asked, asked]
    assert "id" not in empty["override"]
    assert unknown["status"] == 400 and unknown["errors"] == ["overrides[2].user.id: user PNOBODY1 not found"]
    assert unknown["override"]["user"]["id"] == "PNOBODY1"
    assert await _written(h) == (1, 1)  # the valid one, as PagerDuty creates it


async def test_a_malformed_item_refuses_the_batch_and_writes_nothing(h: Harness) -> None:
    ann = await make_user(h, "Ann")
    sid = await _schedule(h, ann)
    r = await h.client.post(f"/schedules/{sid}/overrides", headers=h.writer, json={"overrides": [
        _item("2030-01-10T00:00:00Z", "2030-01-11T00:00:00Z", ann),
        {"end": "2030-01-11T00:00:00Z", "user": {"id": ann}},
        "not an override",
    ]})
    error = assert_error(r, 400, 2001)
    assert any(e.startswith("overrides[1].start") for e in error["errors"]), error
    assert any(e.startswith("overrides[2]") for e in error["errors"]), error
    assert await _written(h) == (0, 0)


async def test_wall_clock_and_utc_times_may_be_mixed(h: Harness) -> None:
    """A time without an offset is wall-clock time in the schedule's zone; compared with one that
    has an offset only once both are placed (the model compared them raw: a 500)."""
    ann = await make_user(h, "Ann")
    sid = await _schedule(h, ann)
    r = await h.client.post(f"/schedules/{sid}/overrides", headers=h.writer,
                            json={"override": _item("2030-01-10T00:00:00Z", "2030-01-11T00:00:00", ann)})
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["override"]["end"]) == datetime(2030, 1, 11, tzinfo=UTC)
    r = await h.client.post(f"/schedules/{sid}/overrides", headers=h.writer,
                            json={"override": _item("2030-01-10T00:00:00Z", "2030-01-09T00:00:00", ann)})
    error = assert_error(r, 400, 2001)
    assert error["errors"] == ["override.end: end must be after start"]
