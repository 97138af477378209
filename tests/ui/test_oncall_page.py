"""The "On call now" page: who is on call at each level of each policy and until when, who is
next, and the signed-in user's own next shifts with their calendar feed link."""

from __future__ import annotations

from tests.conftest import Harness
from tests.escalation.helpers import NOW, make_policy, make_schedule, make_user, schedule_target, user_target
from tests.ui.helpers import browser, new_user, set_password, sign_in
from tocsin.auth.logic import live_user
from tocsin.clock import FrozenClock


async def _admin_id(h: Harness) -> str:
    async with h.tocsin.db.transaction() as session:
        return (await live_user(session, email=h.seed.admin_email)).id


async def _world(h: Harness) -> dict[str, str]:
    """The admin and Bob rotate daily in "Primary" (Bob has Jan 1 2030, the admin Jan 2 ...);
    "Payments" pages that schedule at level 1 and Cy directly at level 2."""
    h.tocsin.runtime.clock = FrozenClock(NOW)
    admin = await _admin_id(h)
    bob, cy = await make_user(h, "Bob"), await make_user(h, "Cy")
    schedule = await make_schedule(h, [admin, bob])
    policy = await make_policy(h, [schedule_target(schedule)], [user_target(cy)], name="Payments")
    return {"admin": admin, "bob": bob, "cy": cy, "schedule": schedule, "policy": policy["id"]}


def _level(html: str, policy: str, level: int) -> str:
    start = html.index(f'data-policy="{policy}" data-level="{level}"')
    return html[start:html.index("</li>", start)]


async def test_who_is_on_call_now_until_when_and_who_is_next(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    await set_password(h, h.seed.admin_email)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        r = await c.get("/ui/oncall")
    assert r.status_code == 200, r.text
    first = _level(r.text, world["policy"], 1)
    now, after = first.split('class="oncall-next"')
    assert "Bob" in now and "(Primary)" in now and "2030-01-02 00:00:00 UTC" in now
    assert "2030-01-02 00:00:00 UTC" in after and "Bob" not in after
    second = _level(r.text, world["policy"], 2)
    assert "Cy" in second and "always at this level" in second
    # My own next shift: the admin's turn on Jan 2, and a private feed URL to subscribe to.
    mine = r.text[r.text.index('id="me-h"'):r.text.index('id="policies-h"')]
    assert "Primary" in mine and "2030-01-02 00:00:00 UTC" in mine and "2030-01-03 00:00:00 UTC" in mine
    assert "/private/" in mine and f"/feed/users/{world['admin']}" in mine and "webcal://" in mine
    assert 'aria-current="page"' in r.text and 'href="/ui/oncall"' in r.text


async def test_the_mine_filter_keeps_only_my_policies(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    other = await make_policy(h, [user_target(world["cy"])], name="Cy only")
    await set_password(h, h.seed.admin_email)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        every = (await c.get("/ui/oncall")).text
        mine = (await c.get("/ui/oncall", params={"mine": "1"})).text
    assert "Cy only" in every and other["id"] in every
    assert "Cy only" not in mine and world["policy"] in mine


async def test_an_observer_may_look_and_signed_out_visitors_are_sent_to_sign_in(harness: Harness) -> None:
    h = harness
    await _world(h)
    email = await new_user(h, "Olive", "observer")
    await set_password(h, email)
    async with browser(h) as c:
        r = await c.get("/ui/oncall")
        assert r.status_code == 303 and r.headers["location"] == "/ui/sign-in?next=/ui/oncall"
        await sign_in(c, email)
        r = await c.get("/ui/oncall")
    assert r.status_code == 200 and "Payments" in r.text and "<form method=\"post\" action=\"/ui/oncall" not in r.text
    assert "No schedule shifts" in r.text


async def test_the_feed_link_subscribes_to_my_shifts(harness: Harness) -> None:
    h = harness
    await _world(h)
    await set_password(h, h.seed.admin_email)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        html = (await c.get("/ui/oncall")).text
        url = html.split('id="ical" type="text" readonly value="', 1)[1].split('"', 1)[0]
        assert url.startswith(h.seed.url)
        r = await c.get(url.removeprefix(h.seed.url))
    assert r.status_code == 200 and "BEGIN:VCALENDAR" in r.text and "Primary" in r.text
