"""The service pages: status, open incidents, who is on call, integrations with their keys and
the Events API URL, recent incidents; disabling a service needs ``services.write`` and a token."""

from __future__ import annotations

from tests.conftest import Harness
from tests.ui.helpers import browser, csrf_of, new_user, set_password, sign_in, trigger
from tocsin.auth.logic import live_user
from tocsin.auth.roles import role_allows


async def _admin_name(h: Harness) -> str:
    async with h.tocsin.db.transaction() as session:
        return (await live_user(session, email=h.seed.admin_email)).name


async def _service(h: Harness) -> dict[str, object]:
    r = await h.client.get(f"/services/{h.seed.service_id}", headers=h.auth)
    return dict(r.json()["service"])


async def test_the_list_and_one_service_show_status_incidents_on_call_and_keys(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    await trigger(h, "Disk full on db-1")
    service = await _service(h)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        listing = await c.get("/ui/services")
        detail = await c.get(f"/ui/services/{h.seed.service_id}")
    assert listing.status_code == 200 and f'href="/ui/services/{h.seed.service_id}"' in listing.text
    assert str(service["name"]) in listing.text and "Active" in listing.text
    card = listing.text[listing.text.index(f'data-service="{h.seed.service_id}"'):]
    assert "Triggered</span>: 1" in card[:2000]
    assert detail.status_code == 200
    text = detail.text
    assert "Disk full on db-1" in text and f'value="{h.routing_key}"' in text and 'readonly' in text
    assert f'value="{h.seed.url}/v2/enqueue"' in text
    level = text[text.index('data-level="1"'):]
    assert (await _admin_name(h)) in level[:level.index("</li>")]
    assert "Disable service" in text and 'aria-current="page"' in text


async def test_an_observer_sees_no_form_and_a_forged_post_is_403(harness: Harness) -> None:
    h = harness
    assert not role_allows("observer", "services.write")
    email = await new_user(h, "Olive", "observer")
    await set_password(h, email)
    async with browser(h) as c:
        await sign_in(c, email)
        page = await c.get(f"/ui/services/{h.seed.service_id}")
        assert page.status_code == 200 and "Disable service" not in page.text
        r = await c.post(f"/ui/services/{h.seed.service_id}/status", data={"csrf": csrf_of(page.text),
                                                                           "status": "disabled"})
        assert r.status_code == 403 and "observer" in r.text
    assert (await _service(h))["status"] == "active"


async def test_disabling_needs_the_token_and_goes_through_the_services_logic(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        page = await c.get(f"/ui/services/{h.seed.service_id}")
        for data in ({"status": "disabled"}, {"status": "disabled", "csrf": "forged"}):
            r = await c.post(f"/ui/services/{h.seed.service_id}/status", data=data)
            assert r.status_code == 403
        assert (await _service(h))["status"] == "active"
        r = await c.post(f"/ui/services/{h.seed.service_id}/status", data={"csrf": csrf_of(page.text),
                                                                           "status": "nonsense"})
        assert r.status_code == 400
        r = await c.post(f"/ui/services/{h.seed.service_id}/status", data={"csrf": csrf_of(page.text),
                                                                           "status": "disabled"})
        assert r.status_code == 303
        page = await c.get(r.headers["location"])
        assert "Disabled." in page.text and "Enable service" in page.text
    assert (await _service(h))["status"] == "disabled"
    r = await h.client.get("/audit/records", headers=h.auth)
    [record] = [rec for rec in r.json()["records"] if rec["method"]["type"] == "browser"]
    assert record["action"] == "update" and record["root_resource"]["id"] == h.seed.service_id


async def test_an_unknown_service_is_404_and_signed_out_visitors_sign_in(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    async with browser(h) as c:
        r = await c.get("/ui/services")
        assert r.status_code == 303 and r.headers["location"] == "/ui/sign-in?next=/ui/services"
        await sign_in(c, h.seed.admin_email)
        r = await c.get("/ui/services/PNOSUCHSERVICE")
        assert r.status_code == 404 and "Service not found" in r.text
