"""GET /notifications: PagerDuty's list of notifications sent to people, with since/until,
filter, include[]=users, time_zone and offset pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tests.users.people import make_user
from tocsin.clock import FrozenClock
from tocsin.ids import new_id
from tocsin.notifications.models import (
    CANCELLED,
    EMAIL,
    FAILED,
    HANDOFF,
    INCIDENT,
    PENDING,
    PHONE,
    PUSH,
    SENT,
    SMS,
    Notification,
)

NOW = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)


async def add(h: Harness, user_id: str, channel: str, address: str, at: datetime, status: str = SENT,
              kind: str = INCIDENT, incident_id: str | None = None) -> str:
    row_id = new_id()
    async with h.tocsin.db.transaction() as session:
        session.add(Notification(
            id=row_id, key=f"test-row:{row_id}", kind=kind, incident_id=incident_id, user_id=user_id,
            channel=channel, address=address, status=status, due_at=at, attempts=1,
            sent_at=at if status == SENT else None, last_error="refused" if status == FAILED else None,
            created_at=at - timedelta(seconds=5), updated_at=at))
    return row_id


@pytest.fixture
async def world(harness: Harness) -> dict[str, Any]:
    h = harness
    h.tocsin.runtime.clock = FrozenClock(NOW)
    ada = (await make_user(h, "Ada Lovelace"))["id"]
    r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
        "type": "incident", "title": "Disk full", "service": {"id": h.seed.service_id, "type": "service_reference"}}})
    incident = r.json()["incident"]
    ids = {
        "email": await add(h, ada, EMAIL, "ada@example.com", NOW - timedelta(hours=3), incident_id=incident["id"]),
        "sms": await add(h, ada, SMS, "+15555550100", NOW - timedelta(hours=2), incident_id=incident["id"]),
        "phone_failed": await add(h, ada, PHONE, "+15555550100", NOW - timedelta(hours=1), status=FAILED,
                                  incident_id=incident["id"]),
        "push": await add(h, ada, PUSH, "device", NOW - timedelta(minutes=30), incident_id=incident["id"]),
        "handoff": await add(h, ada, EMAIL, "ada@example.com", NOW - timedelta(minutes=10), kind=HANDOFF),
        "old": await add(h, ada, EMAIL, "ada@example.com", NOW - timedelta(days=40)),
    }
    await add(h, ada, EMAIL, "ada@example.com", NOW - timedelta(minutes=5), status=PENDING)
    await add(h, ada, SMS, "+15555550100", NOW - timedelta(minutes=5), status=CANCELLED)
    return {"h": h, "ada": ada, "incident": incident, "ids": ids}


async def listed(h: Harness, **params: Any) -> dict[str, Any]:
    r = await h.client.get("/notifications", headers=h.auth, params=params)
    assert r.status_code == 200, r.text
    assert_conforms(r, "GET", "/notifications", 200, expanded="include[]" in params)
    body: dict[str, Any] = r.json()
    return body


async def test_the_default_window_lists_attempted_sends_oldest_first(world: dict[str, Any]) -> None:
    h, ids = world["h"], world["ids"]
    body = await listed(h)
    assert [n["id"] for n in body["notifications"]] == [
        ids["email"], ids["sms"], ids["phone_failed"], ids["push"], ids["handoff"]]  # not pending, cancelled, old
    first = body["notifications"][0]
    assert first["type"] == "email_notification" and first["address"] == "ada@example.com"
    assert first["started_at"] == "2030-03-10T09:00:00Z" and first["status"] == "sent"
    assert first["user"] == {"id": world["ada"], "type": "user_reference", "summary": "Ada Lovelace",
                             "self": f"http://tocsin.test/users/{world['ada']}",
                             "html_url": f"http://tocsin.test/ui/users/{world['ada']}"}
    assert first["incident"]["id"] == world["incident"]["id"]
    assert first["incident"]["summary"] == f"[#{world['incident']['incident_number']}] Disk full"
    failed = body["notifications"][2]
    assert failed["status"] == "failed" and failed["error"] == "refused" and failed["type"] == "phone_notification"
    assert body["notifications"][3]["address"] is None  # push: PagerDuty shows no address
    assert body["notifications"][4]["kind"] == "handoff" and body["notifications"][4]["incident"] is None
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (25, 0, False, None)


async def test_since_until_filter_include_and_time_zone(world: dict[str, Any]) -> None:
    h, ids = world["h"], world["ids"]
    body = await listed(h, since="2030-03-10T09:30:00Z", until="2030-03-10T11:00:00Z")
    assert [n["id"] for n in body["notifications"]] == [ids["sms"]]  # 11:00 is excluded: [since, until)
    body = await listed(h, since="2030-01-20T00:00:00Z", until="2030-03-10T12:00:00Z",
                        filter="email_notification")
    assert [n["id"] for n in body["notifications"]] == [ids["old"], ids["email"], ids["handoff"]]
    body = await listed(h, filter="sms_notification", **{"include[]": "users", "time_zone": "Asia/Tokyo"})
    [sms] = body["notifications"]
    assert sms["user"]["type"] == "user" and sms["user"]["email"] == "ada@example.com"
    assert sms["user"]["name"] == "Ada Lovelace"
    assert sms["started_at"] == "2030-03-10T19:00:00+09:00"


async def test_offset_pagination(world: dict[str, Any]) -> None:
    h, ids = world["h"], world["ids"]
    first = await listed(h, limit=2, total="true")
    assert [n["id"] for n in first["notifications"]] == [ids["email"], ids["sms"]]
    assert (first["more"], first["total"]) == (True, 5)
    last = await listed(h, limit=2, offset=4)
    assert [n["id"] for n in last["notifications"]] == [ids["handoff"]] and last["more"] is False


@pytest.mark.parametrize(("params", "fragment"), [
    ({"since": "2030-01-01T00:00:00Z", "until": "2030-04-01T00:00:00Z"}, "shorter than 3 months"),
    ({"since": "2030-03-10T00:00:00Z", "until": "2030-03-10T00:00:00Z"}, "since must be before until"),
    ({"filter": "pigeon_notification"}, "filter must be one of"),
    ({"include[]": "teams"}, "not supported here"),
    ({"since": "yesterday"}, "since is not a valid ISO 8601 date"),
    ({"time_zone": "Mars/Olympus"}, "not a valid time zone"),
])
async def test_bad_parameters_are_400(world: dict[str, Any], params: dict[str, str], fragment: str) -> None:
    r = await world["h"].client.get("/notifications", headers=world["h"].auth, params=params)
    error = assert_error(r, 400, 2001)
    assert any(fragment in e for e in error["errors"]), error


async def test_just_under_three_months_is_allowed(world: dict[str, Any]) -> None:
    body = await listed(world["h"], since="2030-01-01T00:00:00Z", until="2030-03-31T23:59:59Z")
    assert len(body["notifications"]) == 6
