"""A person's page: profile, contact methods and notification rules, changed by their owner (or
an admin) through the users domain's logic; "Send test" through the real SMTP channel; the
person's on-call shifts. Others see no forms, and a forged post is refused."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Harness
from tests.engine.smtp_channel import SmtpServer, smtp_server
from tests.escalation.helpers import NOW, make_policy, make_schedule, schedule_target
from tests.ui.helpers import browser, csrf_of, new_user, set_password, sign_in
from tocsin.auth.logic import live_user
from tocsin.clock import FrozenClock
from tocsin.notifications.channels import Channels

__all__ = ["smtp_server"]


@pytest.fixture
def mail(harness: Harness, smtp_server: SmtpServer) -> SmtpServer:
    """The harness's channels pointed at the test SMTP server (the real EmailChannel)."""
    settings = harness.tocsin.settings.model_copy(update={
        "smtp_host": smtp_server.host, "smtp_port": smtp_server.port, "email_from": "Tocsin <tocsin@tocsin.test>"})
    harness.tocsin.channels = Channels.from_settings(settings, harness.tocsin.runtime.clock.now).for_channel
    return smtp_server


async def _id(h: Harness, email: str) -> str:
    async with h.tocsin.db.transaction() as session:
        return (await live_user(session, email=email)).id


def _only(methods: object) -> dict[str, str]:
    assert isinstance(methods, list) and len(methods) == 1, methods
    return dict(methods[0])


async def _user(h: Harness, user_id: str) -> dict[str, object]:
    r = await h.client.get(f"/users/{user_id}", headers=h.auth,
                           params={"include[]": ["contact_methods", "notification_rules"]})
    return dict(r.json()["user"])


async def test_my_profile_shows_methods_rules_and_shifts(harness: Harness) -> None:
    h = harness
    h.tocsin.runtime.clock = FrozenClock(NOW)
    email = await new_user(h, "Dana", "user")
    dana = await _id(h, email)
    schedule = await make_schedule(h, [dana], name="Night shift")
    await make_policy(h, [schedule_target(schedule)], name="Payments")
    await set_password(h, email)
    async with browser(h) as c:
        await sign_in(c, email)
        r = await c.get("/ui/people/me")
        assert r.status_code == 303 and r.headers["location"] == f"/ui/people/{dana}"
        page = await c.get(r.headers["location"])
    text = page.text
    assert page.status_code == 200 and "Dana" in text and email in text and "(you)" in text
    methods = text[text.index('id="methods-h"'):text.index('id="rules-h"')]
    assert "Email" in methods and email in methods and ">Send test<" in methods
    rules = text[text.index('id="rules-h"'):text.index('id="shifts-h"')]
    assert "High" in rules and "immediately" in rules
    shifts = text[text.index('id="shifts-h"'):]
    assert "Night shift" in shifts and "now" in shifts and "Payments" in shifts
    assert 'href="/ui/people/me" aria-current="page"' in text


async def test_the_owner_adds_and_removes_a_method_and_a_rule(harness: Harness) -> None:
    h = harness
    email = await new_user(h, "Erin", "user")
    erin = await _id(h, email)
    await set_password(h, email)
    async with browser(h) as c:
        await sign_in(c, email)
        token = csrf_of((await c.get(f"/ui/people/{erin}")).text)
        r = await c.post(f"/ui/people/{erin}/add-method", data={
            "csrf": token, "type": "sms_contact_method", "label": "Mobile", "address": "5550100", "country_code": "1"})
        assert r.status_code == 303, r.text
        page = await c.get(r.headers["location"])
        assert "Contact method added." in page.text and "+15550100" in page.text
        [sms] = [m for m in (await _user(h, erin))["contact_methods"] if m["type"] == "sms_contact_method"]  # type: ignore[attr-defined]  # JSON
        r = await c.post(f"/ui/people/{erin}/add-rule", data={
            "csrf": token, "urgency": "low", "delay": "5", "method": sms["id"]})
        assert r.status_code == 303, r.text
        rules = (await _user(h, erin))["notification_rules"]
        [low] = [x for x in rules if x["urgency"] == "low"]  # type: ignore[attr-defined]  # JSON
        assert low["start_delay_in_minutes"] == 5 and low["contact_method"]["id"] == sms["id"]
        page = await c.get(f"/ui/people/{erin}")
        assert "after 5 min, SMS: Mobile" in page.text
        r = await c.post(f"/ui/people/{erin}/add-rule", data={"csrf": token, "urgency": "low", "delay": "x",
                                                             "method": sms["id"]})
        assert r.status_code == 400
        r = await c.post(f"/ui/people/{erin}/update-rule", data={"csrf": token, "rule": low["id"], "urgency": "high",
                                                                "delay": "12"})
        assert r.status_code == 303, r.text
        r = await c.post(f"/ui/people/{erin}/update-method", data={"csrf": token, "method": sms["id"],
                                                                  "label": "Pager", "address": "5550199"})
        assert r.status_code == 303, r.text
        page = await c.get(f"/ui/people/{erin}")
        assert "after 12 min, SMS: Pager" in page.text and "+15550199" in page.text
        r = await c.post(f"/ui/people/{erin}/delete-rule", data={"csrf": token, "rule": low["id"]})
        assert r.status_code == 303
        r = await c.post(f"/ui/people/{erin}/delete-method", data={"csrf": token, "method": sms["id"]})
        assert r.status_code == 303
        r = await c.post(f"/ui/people/{erin}/profile", data={"csrf": token, "name": "Erin Q", "job_title": "SRE",
                                                            "time_zone": "Europe/Paris"})
        assert r.status_code == 303
    user = await _user(h, erin)
    assert not [m for m in user["contact_methods"] if m["type"] == "sms_contact_method"]  # type: ignore[attr-defined]  # JSON
    assert not [x for x in user["notification_rules"] if x["start_delay_in_minutes"] == 12]  # type: ignore[attr-defined]  # JSON
    assert (user["name"], user["job_title"], user["time_zone"]) == ("Erin Q", "SRE", "Europe/Paris")


async def test_someone_else_sees_no_forms_and_a_forged_post_is_refused(harness: Harness) -> None:
    h = harness
    erin = await _id(h, await new_user(h, "Erin", "user"))
    before = await _user(h, erin)
    frank_email = await new_user(h, "Frank", "user")
    olive_email = await new_user(h, "Olive", "observer")
    for email in (frank_email, olive_email):  # another user (not an admin), and a read-only role
        await set_password(h, email)
        async with browser(h) as c:
            await sign_in(c, email)
            page = await c.get(f"/ui/people/{erin}")
            assert page.status_code == 200 and "Erin" in page.text
            for word in (">Send test<", ">Remove<", "Add a contact method", "Edit profile"):
                assert word not in page.text, (email, word)
            token = csrf_of(page.text)
            method = _only(before["contact_methods"])
            for action, data in (("profile", {"name": "Hacked"}), ("delete-method", {"method": method["id"]}),
                                 ("update-method", {"method": method["id"], "label": "x", "address": "a@b.cd"}),
                                 ("test-method", {"method": method["id"]})):
                r = await c.post(f"/ui/people/{erin}/{action}", data={"csrf": token, **data})
                assert r.status_code == 403, (email, action, r.status_code)
            # Without the token, even the owner's own forms are refused.
            r = await c.post(f"/ui/people/{erin}/profile", data={"name": "Hacked"})
            assert r.status_code == 403 and "Reload the page" in r.text
    assert (await _user(h, erin)) == before


async def test_an_admin_may_edit_someone_else(harness: Harness) -> None:
    h = harness
    erin = await _id(h, await new_user(h, "Erin", "user"))
    await set_password(h, h.seed.admin_email)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        page = await c.get(f"/ui/people/{erin}")
        assert "Edit profile" in page.text and "(you)" not in page.text
        r = await c.post(f"/ui/people/{erin}/profile", data={"csrf": csrf_of(page.text), "name": "Erin R",
                                                            "time_zone": "Etc/UTC"})
        assert r.status_code == 303
    assert (await _user(h, erin))["name"] == "Erin R"


async def test_send_test_reaches_the_smtp_server_and_a_failure_says_why(harness: Harness, mail: SmtpServer) -> None:
    h = harness
    email = await new_user(h, "Gwen", "user")
    gwen = await _id(h, email)
    await set_password(h, email)
    method = _only((await _user(h, gwen))["contact_methods"])
    async with browser(h) as c:
        await sign_in(c, email)
        token = csrf_of((await c.get(f"/ui/people/{gwen}")).text)
        r = await c.post(f"/ui/people/{gwen}/test-method", data={"csrf": token, "method": method["id"]})
        assert r.status_code == 303
        page = await c.get(r.headers["location"])
        assert "Test message sent" in page.text
        [envelope] = mail.mailbox.received
        assert envelope.rcpt_tos == [email] and isinstance(envelope.content, bytes)
        assert b"[Test message]" in envelope.content
        h.tocsin.channels = lambda name: (_ for _ in ()).throw(LookupError(name))  # no channel at all
        r = await c.post(f"/ui/people/{gwen}/test-method", data={"csrf": token, "method": method["id"]})
        page = await c.get(r.headers["location"])
        assert "was not delivered" in page.text and re.search(r'class="error" role="alert">[^<]+<', page.text)


async def test_an_unknown_person_is_404(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        r = await c.get("/ui/people/PNOSUCHPERSON1")
        assert r.status_code == 404 and "Person not found" in r.text
        # The REST API's html_url of a user leads to the person's page.
        html_url = (await h.client.get("/users", headers=h.auth)).json()["users"][0]["html_url"]
        r = await c.get(html_url.removeprefix(h.seed.url), follow_redirects=True)
        assert r.status_code == 200 and 'id="methods-h"' in r.text
        r = await c.get("/ui/people/PNOSUCHPERSON1")
    assert r.status_code == 404 and "Person not found" in r.text
