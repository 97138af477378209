"""Secret iCal feeds of schedules and users: public but unguessable, rotatable, readable by
calendar apps (RFC 5545), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tests.contract import assert_conforms
from tests.helpers import assert_error
from tests.schedules.helpers import clock, create, layer, make_user
from tocsin.audit.models import AuditRecord
from tocsin.auth.logic import issue_api_key


def path_of(url: str) -> str:
    assert url.startswith("http://tocsin.test/private/"), url
    return url.removeprefix("http://tocsin.test")


def events(text: str) -> list[dict[str, str]]:
    """VEVENTs of an unfolded calendar as {property: value}."""
    found: list[dict[str, str]] = []
    for line in text.replace("\r\n ", "").split("\r\n"):
        if line == "BEGIN:VEVENT":
            found.append({})
        elif found and line != "END:VEVENT" and ":" in line and line != "END:VCALENDAR":
            key, _, value = line.partition(":")
            found[-1].setdefault(key, value)
    return found


async def test_schedule_json_carries_feed_urls_and_the_feed_needs_no_credential(h: Harness) -> None:
    a, b = await make_user(h, "Ann"), await make_user(h, "Bob")
    created = await create(h, [a, b])
    http_url, web_url = created["http_cal_url"], created["web_cal_url"]
    assert http_url.endswith(f"/feed/{created['id']}")
    assert web_url == "webcal://" + http_url.removeprefix("http://")
    got = await h.client.get(f"/schedules/{created['id']}", headers=h.auth)
    assert_conforms(got, "GET", "/schedules/{id}")
    assert got.json()["schedule"]["http_cal_url"] == http_url  # stable until rotated
    listed = (await h.client.get("/schedules", headers=h.auth)).json()["schedules"]
    assert listed[0]["http_cal_url"] == http_url

    r = await h.client.get(path_of(http_url))  # no Authorization header at all
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    assert "ratelimit-limit" not in r.headers
    text = r.text
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:") and text.endswith("END:VCALENDAR\r\n")
    evs = events(text)
    # The window runs 30 days back to 180 days ahead of now (2030-01-01); the layer starts 01-07.
    assert evs[0]["DTSTART"] == "20300107T000000Z" and evs[0]["DTEND"] == "20300114T000000Z"
    assert evs[0]["SUMMARY"] == "On call: Ann (Primary)" and evs[1]["SUMMARY"] == "On call: Bob (Primary)"
    # Weekly shifts from 01-07 up to 2030-06-30 (now + 180 days); the one crossing it is whole.
    assert len(evs) == 25
    assert (evs[-1]["DTSTART"], evs[-1]["DTEND"]) == ("20300624T000000Z", "20300701T000000Z")
    assert len({e["UID"] for e in evs}) == len(evs)
    # A later fetch gives the same UIDs for the same shifts.
    clock(h).advance(days=3)
    again = events((await h.client.get(path_of(http_url))).text)
    assert again[0]["UID"] == evs[0]["UID"]


@pytest.mark.parametrize("mangle", [
    lambda p: p.replace("/private/", "/private/x"),              # token with an extra character
    lambda p: p[: p.index("/feed/")][:-1] + p[p.index("/feed/"):],  # token missing a character
    lambda p: p.rsplit("/", 1)[0] + "/PNOPE123",                 # token of another schedule's URL
])
async def test_wrong_tokens_and_ids_are_404(h: Harness, mangle: Any) -> None:
    a = await make_user(h, "Ann")
    created = await create(h, [a])
    assert_error(await h.client.get(mangle(path_of(created["http_cal_url"]))), 404, 2100)


async def test_rotation_replaces_the_secret_and_is_audited(h: Harness) -> None:
    a = await make_user(h, "Ann")
    created = await create(h, [a])
    old = path_of(created["http_cal_url"])
    r = await h.client.post(f"/schedules/{created['id']}/feed/rotate", headers=h.writer)
    assert r.status_code == 200, r.text
    new = path_of(r.json()["schedule"]["http_cal_url"])
    assert new != old and new.endswith(created["id"])
    assert_error(await h.client.get(old), 404, 2100)
    assert (await h.client.get(new)).status_code == 200
    async with h.tocsin.db.transaction() as session:
        rows = list((await session.execute(
            select(AuditRecord).where(AuditRecord.root_type == "calendar_feed"))).scalars())
    assert len(rows) == 1 and rows[0].action == "update"
    assert all(old.split("/")[2] not in str(f) for f in rows[0].fields)  # no secret in the trail
    assert_error(await h.client.post("/schedules/PNOPE123/feed/rotate", headers=h.writer), 404, 2100)


async def test_deleted_schedule_feed_is_gone(h: Harness) -> None:
    a = await make_user(h, "Ann")
    created = await create(h, [a])
    assert (await h.client.delete(f"/schedules/{created['id']}", headers=h.writer)).status_code == 204
    assert_error(await h.client.get(path_of(created["http_cal_url"])), 404, 2100)


async def test_user_feed_covers_every_schedule_the_user_is_on(h: Harness) -> None:
    a, b = await make_user(h, "Ann"), await make_user(h, "Bob")
    first = await create(h, [a, b], name="Primary")
    await create(h, [b], name="Secondary")
    second = await create(h, [a], name="Backup", schedule_layers=[layer([a], start="2030-02-04T00:00:00Z",
                                                                        rotation_virtual_start="2030-02-04T00:00:00Z")])
    r = await h.client.post(f"/schedules/{first['id']}/overrides", headers=h.writer, json={
        "override": {"start": "2030-01-15T00:00:00Z", "end": "2030-01-16T00:00:00Z", "user": {"id": a}}})
    assert r.status_code == 201, r.text

    r = await h.client.get(f"/schedules/feeds/users/{a}", headers=h.auth)
    assert r.status_code == 200, r.text
    feed = r.json()["calendar_feed"]
    assert feed["user"]["id"] == a and feed["web_cal_url"].startswith("webcal://")
    assert (await h.client.get(f"/schedules/feeds/users/{a}", headers=h.auth)).json() == r.json()
    text = (await h.client.get(path_of(feed["http_cal_url"]))).text
    evs = events(text)
    summaries = {e["SUMMARY"] for e in evs}
    assert summaries == {"On call: Ann (Primary)", "On call: Ann (Backup)"}
    assert all("Bob" not in s for s in summaries)
    starts = [e["DTSTART"] for e in evs if e["SUMMARY"] == "On call: Ann (Primary)"]
    assert starts[:3] == ["20300107T000000Z", "20300115T000000Z", "20300121T000000Z"]  # the override
    assert [e["DTSTART"] for e in evs] == sorted(e["DTSTART"] for e in evs)
    assert second["id"] in text

    r = await h.client.post(f"/schedules/feeds/users/{a}/rotate", headers=h.writer)
    assert r.status_code == 200 and r.json()["calendar_feed"]["http_cal_url"] != feed["http_cal_url"]
    assert_error(await h.client.get(path_of(feed["http_cal_url"])), 404, 2100)
    assert_error(await h.client.get("/schedules/feeds/users/PNOPE123", headers=h.auth), 404, 2100)
    assert_error(await h.client.post("/schedules/feeds/users/PNOPE123/rotate", headers=h.writer), 404, 2100)


async def test_a_user_key_sees_only_its_own_feed(h: Harness) -> None:
    a, b = await make_user(h, "Ann"), await make_user(h, "Bob")
    async with h.tocsin.db.transaction() as session:
        key = await issue_api_key(session, datetime.now(UTC), description="ann", user_id=a)
    auth = {"Authorization": f"Token token={key}"}
    assert (await h.client.get(f"/schedules/feeds/users/{a}", headers=auth)).status_code == 200
    assert_error(await h.client.get(f"/schedules/feeds/users/{b}", headers=auth), 403, 2010)
    assert_error(await h.client.post(f"/schedules/feeds/users/{b}/rotate", headers=auth), 403, 2010)


async def test_feed_routes_need_credentials_except_the_feeds(h: Harness) -> None:
    a = await make_user(h, "Ann")
    created = await create(h, [a])
    assert_error(await h.client.get(f"/schedules/feeds/users/{a}"), 401, 2006)
    assert_error(await h.client.post(f"/schedules/{created['id']}/feed/rotate"), 401, 2006)


async def test_feeds_parse_with_an_independent_icalendar_library(h: Harness) -> None:
    """What calendar apps do: parse the feed with a real RFC 5545 parser (PyPI ``icalendar``),
    including a name long enough to be folded and characters that must be escaped."""
    import icalendar  # pinned in requirements-dev.lock
    a = await make_user(h, "Ann, the very patient on-call engineer; with a name long enough to be folded twice")
    b = await make_user(h, "Bob")
    created = await create(h, [a, b])
    for url in (created["http_cal_url"],
                (await h.client.get(f"/schedules/feeds/users/{a}",
                                    headers=h.auth)).json()["calendar_feed"]["http_cal_url"]):
        raw = (await h.client.get(path_of(url))).content
        assert all(len(line) <= 75 for line in raw.split(b"\r\n")), "lines must fold at 75 octets"
        calendar = icalendar.Calendar.from_ical(raw)
        assert str(calendar["VERSION"]) == "2.0" and calendar.get("PRODID")
        shifts = calendar.walk("VEVENT")
        assert shifts, "the feed has no events"
        uids = [str(e["UID"]) for e in shifts]
        assert len(set(uids)) == len(uids)
        for event in shifts:
            start, end = event.decoded("DTSTART"), event.decoded("DTEND")
            assert start.tzinfo is not None and start.utcoffset().total_seconds() == 0
            assert end > start
            assert event.get("DTSTAMP") is not None
        summaries = {str(e["SUMMARY"]) for e in shifts}
        assert ("On call: Ann, the very patient on-call engineer; with a name long enough to be folded twice (Primary)"
                in summaries)


def test_every_feeds_function_names_only_types_that_exist() -> None:
    """Annotations are evaluated lazily (``from __future__ import annotations``), so a name they use
    but the module never imports goes unnoticed until FastAPI, pydantic or a type checker reads them."""
    import inspect
    import typing

    from tocsin.schedules import feeds

    functions = [f for _, f in inspect.getmembers(feeds, inspect.isfunction) if f.__module__ == feeds.__name__]
    assert functions
    for function in functions:
        typing.get_type_hints(function)  # raises NameError for an undefined name
