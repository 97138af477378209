"""The schedule pages: the list (zone, who is on call now) and one schedule drawn over one to four
weeks in the viewer's zone (layers, overrides, the final schedule with its gaps, now), paged by
links; creating an override needs ``schedules.write`` and the page's token and goes through the
schedules domain's override logic (its rules and audit record)."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Harness
from tests.escalation.helpers import NOW, make_schedule, make_user
from tests.ui.helpers import browser, csrf_of, new_user, set_password, sign_in
from tocsin.auth.logic import live_user
from tocsin.auth.roles import role_allows
from tocsin.clock import FrozenClock

# Business hours only (09:00-17:00 in the schedule's zone, UTC): nights are gaps.
DAYTIME = {"restrictions": [{"type": "daily_restriction", "start_time_of_day": "09:00:00",
                             "duration_seconds": 8 * 3600}]}


async def _world(h: Harness, **layer: Any) -> dict[str, str]:
    """Bob and Cy rotate daily in "Primary" (Bob has Jan 1 2030, Cy Jan 2 ...); now is Jan 1 10:00 UTC."""
    h.tocsin.runtime.clock = FrozenClock(NOW.replace(hour=10))
    bob, cy = await make_user(h, "Bob"), await make_user(h, "Cy")
    schedule = await make_schedule(h, [cy, bob], **layer)
    await set_password(h, h.seed.admin_email)
    return {"bob": bob, "cy": cy, "schedule": schedule}


def _lane(html: str, key: str) -> str:
    start = html.index(f'data-lane="{key}"')
    return html[start:html.index("</svg>\n", html.index('<g aria-hidden="true">', start))]


def _blocks(lane: str) -> list[tuple[str, str, str]]:
    """(kind, user id, accessible text) of each block of a lane, in order."""
    found = re.findall(r'role="img" aria-label="([^"]*)" data-kind="(\w+)" data-user="(\w*)"', lane)
    return [(kind, user, text) for text, kind, user in found]


async def test_the_list_shows_each_schedule_its_zone_and_who_is_on_call(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        r = await c.get("/ui/schedules")
    assert r.status_code == 200
    card = r.text[r.text.index(f'data-schedule="{world["schedule"]}"'):]
    card = card[:card.index("</li>")]
    assert f'href="/ui/schedules/{world["schedule"]}"' in card and "Primary" in card and "Etc/UTC" in card
    assert "<strong>Bob</strong>" in card and "2030-01-02 00:00:00 UTC" in card, card
    assert 'href="/ui/schedules" aria-current="page"' in r.text


async def test_the_drawing_shows_layers_overrides_the_final_schedule_gaps_and_now(harness: Harness) -> None:
    h = harness
    world = await _world(h, **DAYTIME)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        r = await c.get(f"/ui/schedules/{world['schedule']}", params={"start": "2030-01-01", "weeks": "1"})
        assert r.status_code == 200, r.text
        html = r.text
        final = _blocks(_lane(html, "final"))
        # Gaps and shifts alternate and cover the week: gap to 09:00, Bob to 17:00, gap to 09:00, Cy ...
        assert [k for k, _, _ in final[:5]] == ["gap", "shift", "gap", "shift", "gap"]
        assert final[1][1] == world["bob"] and final[3][1] == world["cy"] and final[-1][0] == "gap"
        assert final[0][2].startswith("Nobody on call: a gap, from Tue 1 Jan 00:00 until Tue 1 Jan 09:00")
        assert final[1][2] == "Bob, from Tue 1 Jan 09:00 until Tue 1 Jan 17:00, on call now"
        assert 'class="block kind-shift' in html and " current" in _lane(html, "final")
        assert 'class="now-line"' in html and "Nobody</text>" in html  # gaps carry words, not only colour
        assert _blocks(_lane(html, "overrides")) == [] and "None in this window" in html
        assert len(_blocks(_lane(html, "final"))) == 15  # 7 days, 7 shifts, 8 gaps
        assert re.search(r">Tue 1</text>", html) and ">Mon 7</text>" in html and ">Jan 2030</text>" in html
        # Paging: by the window's length, all in the URL.
        assert f'href="/ui/schedules/{world["schedule"]}?start=2029-12-25&amp;weeks=1" rel="prev"' in html
        assert f'href="/ui/schedules/{world["schedule"]}?start=2030-01-08&amp;weeks=1" rel="next"' in html
        # The viewer's own zone, or the one asked for: Bob's 09:00 UTC is 04:00 in New York.
        r = await c.get(f"/ui/schedules/{world['schedule']}",
                        params={"start": "2029-12-31", "weeks": "4", "tz": "America/New_York"})
        assert r.status_code == 200
        bob = next(b for b in _blocks(_lane(r.text, "final")) if b[1] == world["bob"])
        assert bob[2] == "Bob, from Tue 1 Jan 04:00 until Tue 1 Jan 12:00, on call now"
        assert "tz=America%2FNew_York" in r.text and r.text.count('data-lane="') == 3
        for params, words in (({"tz": "Mars/Olympus"}, "is not a time zone"), ({"weeks": "5"}, "weeks must be 1 to 4"),
                              ({"start": "tomorrow"}, "write it as YYYY-MM-DD"), ({"start": "0001-01-01"}, "between")):
            r = await c.get(f"/ui/schedules/{world['schedule']}", params=params)
            assert r.status_code == 400 and words in r.text, (params, r.status_code)
        r = await c.get("/ui/schedules/PNOSUCHSCHEDUL")
        assert r.status_code == 404 and "Schedule not found" in r.text


async def _admin_id(h: Harness) -> str:
    async with h.tocsin.db.transaction() as session:
        return (await live_user(session, email=h.seed.admin_email)).id


async def test_an_override_made_on_the_page_is_drawn_and_audited(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    page_url = f"/ui/schedules/{world['schedule']}?start=2030-01-01&weeks=1&tz=Europe%2FParis"
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        page = await c.get(page_url)
        assert "Create an override" in page.text and 'type="datetime-local"' in page.text
        token = csrf_of(page.text)
        form = {"csrf": token, "window_start": "2030-01-01", "weeks": "1", "tz": "Europe/Paris",
                "user": world["cy"], "start": "2030-01-01T14:00", "end": "2030-01-01T16:00"}
        # Refused input is shown on the page, with what was typed kept; nothing is written.
        for changes, words in (({"end": "2030-01-01T13:00"}, "end must be after start"),
                               ({"user": "PNOSUCHUSER123"}, "the person PNOSUCHUSER123 not found"),
                               ({"start": "soon"}, "The start is not a date and time"),
                               ({"end": "9999-01-01T00:00"}, "The end: must be between the years 1900 and 9000"),
                               ({"user": ""}, "Choose who takes the override")):
            r = await c.post(f"/ui/schedules/{world['schedule']}/overrides", data={**form, **changes})
            assert r.status_code == 400 and words in r.text and 'role="alert"' in r.text, (changes, r.text[-3000:])
            assert 'value="2030-01-01T14:00"' in r.text or "start" in changes
        r = await c.post(f"/ui/schedules/{world['schedule']}/overrides", data=form)
        assert r.status_code == 303 and r.headers["location"].startswith(
            f"/ui/schedules/{world['schedule']}?start=2030-01-01&weeks=1&tz=Europe%2FParis")
        html = (await c.get(r.headers["location"])).text
    assert "Override created" in html
    # 14:00-16:00 Paris is 13:00-15:00 UTC: Cy over Bob's day (after Cy's last hour of Dec 31 UTC,
    # the window starting at midnight in Paris), drawn in both rows with words.
    [override] = _blocks(_lane(html, "overrides"))
    assert override == ("override", world["cy"], "Cy (override), from Tue 1 Jan 14:00 until Tue 1 Jan 16:00")
    final = _blocks(_lane(html, "final"))
    assert [(k, u) for k, u, _ in final[:4]] == [("shift", world["cy"]), ("shift", world["bob"]),
                                                 ("override", world["cy"]), ("shift", world["bob"])]
    assert 'fill="url(#hatch-override)"' in _lane(html, "final")
    r = await h.client.get(f"/schedules/{world['schedule']}/overrides", headers=h.auth,
                           params={"since": "2030-01-01T00:00:00Z", "until": "2030-01-02T00:00:00Z"})
    [made] = r.json()["overrides"]
    assert made["start"] == "2030-01-01T13:00:00+00:00" and made["user"]["id"] == world["cy"]
    r = await h.client.get("/audit/records", headers=h.auth)
    [record] = [rec for rec in r.json()["records"] if rec["method"]["type"] == "browser"]
    assert record["action"] == "create" and record["actors"][0]["id"] == await _admin_id(h)


async def test_who_may_not_write_sees_no_form_and_forged_posts_are_refused(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    assert not role_allows("observer", "schedules.write")
    email = await new_user(h, "Olive", "observer")
    await set_password(h, email)
    path = f"/ui/schedules/{world['schedule']}"
    form = {"user": world["cy"], "start": "2030-01-01T14:00", "end": "2030-01-01T16:00"}
    async with browser(h) as c:
        r = await c.get(path)
        assert r.status_code == 303 and r.headers["location"] == f"/ui/sign-in?next={path}"
        await sign_in(c, email)
        page = await c.get(path)
        assert page.status_code == 200 and "Create an override" not in page.text and "Final schedule" in page.text
        r = await c.post(path + "/overrides", data={**form, "csrf": csrf_of(page.text)})
        assert r.status_code == 403 and "observer" in r.text
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        for token in ({}, {"csrf": "forged"}):
            r = await c.post(path + "/overrides", data={**form, **token})
            assert r.status_code == 403 and "Reload the page" in r.text
    r = await h.client.get(path.removeprefix("/ui") + "/overrides", headers=h.auth,
                           params={"since": "2029-12-01T00:00:00Z", "until": "2030-02-01T00:00:00Z"})
    assert r.json()["overrides"] == []
