"""What a person may see and do in the UI follows their role through the REST API's one access
table (``tocsin.auth.roles``), and every form needs the page's CSRF token."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness
from tests.ui.helpers import browser, csrf_of, incident_ids, new_user, set_password, sign_in, trigger
from tocsin.auth.roles import ROLES, role_allows


async def _incident_json(h: Harness, incident_id: str) -> dict[str, Any]:
    r = await h.client.get(f"/incidents/{incident_id}", headers=h.auth)
    return dict(r.json()["incident"])


async def _status(h: Harness, incident_id: str) -> str:
    return str((await _incident_json(h, incident_id))["status"])


async def test_a_forged_post_without_the_token_changes_nothing(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    await trigger(h)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        [incident] = incident_ids((await c.get("/")).text)
        # Another site can make the browser post (the cookie goes along) but cannot read the token.
        for data in ({}, {"csrf": "forged"}, {"csrf": csrf_of((await c.get("/")).text) + "0"}):
            r = await c.post(f"/ui/incidents/{incident}/acknowledge", data=data)
            assert r.status_code == 403 and "Reload the page" in r.text
            r = await c.post("/ui/incidents/bulk", data={**data, "action": "resolve", "incident": incident})
            assert r.status_code == 403
            for action, extra in (("urgency", {"urgency": "low"}), ("priority", {"priority": ""}),
                                  ("delegate", {"policy": h.seed.escalation_policy_id or ""}),
                                  ("merge", {"target": "1"})):
                r = await c.post(f"/ui/incidents/{incident}/{action}", data={**data, **extra})
                assert r.status_code == 403, action
            r = await c.post("/ui/incidents/merge", data={**data, "incident": [incident, "PX"], "target": incident})
            assert r.status_code == 403
        # A token from another browser's page is refused too.
        async with browser(h) as other:
            await sign_in(other, h.seed.admin_email)
            theirs = csrf_of((await other.get("/")).text)
        r = await c.post(f"/ui/incidents/{incident}/acknowledge", data={"csrf": theirs})
        assert r.status_code == 403
    assert await _status(h, incident) == "triggered"


async def test_a_json_or_oversized_post_is_refused(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        token = csrf_of((await c.get("/")).text)
        r = await c.post("/ui/incidents/bulk", json={"csrf": token, "action": "resolve"})
        assert r.status_code == 400
        r = await c.post("/ui/incidents/bulk", data={"csrf": token, "note": "x" * 70_000})
        assert r.status_code == 400


async def test_an_observer_sees_no_actions_and_a_forged_post_with_a_valid_token_is_403(harness: Harness) -> None:
    h = harness
    assert not role_allows("observer", "incidents.write") and role_allows("observer", "incidents.read")
    email = await new_user(h, "Olive", "observer")
    await set_password(h, email)
    await trigger(h)
    async with browser(h) as c:
        assert (await sign_in(c, email)).status_code == 303
        home = await c.get("/")
        assert home.status_code == 200
        [incident] = incident_ids(home.text)
        assert "Acknowledge selected" not in home.text and 'name="incident"' not in home.text
        page = await c.get(f"/ui/incidents/{incident}")
        assert page.status_code == 200 and "Disk full on db-1" in page.text
        for word in (">Acknowledge<", ">Resolve<", ">Snooze<", ">Escalate<", ">Reassign<", ">Add note<",
                     ">Reassign to policy<", ">Set priority<", ">Set urgency<", ">Merge<", "Merge selected"):
            assert word not in page.text and word not in home.text, word
        token = csrf_of(page.text)  # the sign-out form's: a real token of this browser
        for action, extra in (("acknowledge", {}), ("resolve", {}), ("note", {"content": "hi"}),
                              ("escalate", {"level": "1"}), ("snooze", {"minutes": "30"}),
                              ("delegate", {"policy": h.seed.escalation_policy_id or ""}),
                              ("priority", {"priority": ""}), ("urgency", {"urgency": "low"}),
                              ("merge", {"target": "1"})):
            r = await c.post(f"/ui/incidents/{incident}/{action}", data={"csrf": token, **extra})
            assert r.status_code == 403 and "observer" in r.text, (action, r.status_code)
        for action in ("acknowledge", "merge"):
            r = await c.post("/ui/incidents/bulk", data={"csrf": token, "action": action, "incident": incident})
            assert r.status_code == 403
        r = await c.post("/ui/incidents/merge", data={"csrf": token, "incident": [incident, "PX"], "target": incident})
        assert r.status_code == 403
    assert (await _incident_json(h, incident))["urgency"] == "high"
    assert await _status(h, incident) == "triggered"


@pytest.mark.parametrize("role", sorted(set(ROLES) - {"owner"}))  # one owner per account: init made it
async def test_every_role_sees_actions_exactly_when_the_table_allows_writes(harness: Harness, role: str) -> None:
    h = harness
    email = await new_user(h, f"Role{role.replace('_', '')}", role)
    await set_password(h, email)
    await trigger(h)
    async with browser(h) as c:
        await sign_in(c, email)
        home = await c.get("/")
        [incident] = incident_ids(home.text)
        page = await c.get(f"/ui/incidents/{incident}")
    allowed = role_allows(role, "incidents.write")
    assert ("Acknowledge selected" in home.text) == allowed
    assert (">Add note<" in page.text) == allowed


async def test_signed_out_requests_are_sent_to_sign_in(harness: Harness) -> None:
    h = harness
    await trigger(h)
    async with browser(h) as c:
        r = await c.get("/ui/incidents/PXXXXXXXXXXXXX")
        assert r.status_code == 303 and r.headers["location"].startswith("/ui/sign-in?next=/ui/incidents/")
        r = await c.get("/ui/feed")
        assert r.status_code == 303
        token = csrf_of((await c.get("/")).text)
        r = await c.post("/ui/incidents/bulk", data={"csrf": token, "action": "resolve"})
        assert r.status_code == 303 and r.headers["location"].startswith("/ui/sign-in")
