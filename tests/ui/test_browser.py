"""The web UI in real Chromium against a real server process (see ``tests/ui/browser.py``).

Scenarios of issue 11: sign in; an event sent through the Events API appears on an open
incidents page within 2 s without reload; an acknowledgement in one browser shows live in
another; the timeline shows the email sent to the SMTP server; acknowledging with the keyboard
only; no horizontal scroll at phone width; no serious or critical axe-core violations on any page;
an override created from a schedule's page shows in its drawing; changing priority and merging
two incidents from the list.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.ui.browser import (
    DESKTOP,
    PHONE,
    Server,
    axe_violations,
    chromium,
    horizontal_overflow,
    screenshot,
    server,
    sign_in,
)

__all__ = ["chromium", "server"]  # fixtures, used by name
pytestmark = pytest.mark.e2e


def more_pages(server: Server) -> list[tuple[str, str]]:
    """Pages checked at phone width and with axe-core besides the incident pages: (path, name)."""
    service = server.rest("GET", "/services").json()["services"][0]["id"]
    return [("/ui/oncall", "oncall"), ("/ui/services", "services"), (f"/ui/services/{service}", "service"),
            ("/ui/people/me", "person"), ("/ui/schedules", "schedules"),
            (f"/ui/schedules/{schedule_id(server)}?weeks=4", "schedule")]


def schedule_id(server: Server) -> str:
    """"Primary" (made on first use): the admin and Dee rotate weekly; Dee's business-hours layer
    beats it on weekdays (its nights are gaps in that layer only); a night layer leaves gaps."""
    found = server.rest("GET", "/schedules", params={"query": "Primary"}).json()["schedules"]
    if found:
        return str(found[0]["id"])
    admin = server.rest("GET", "/users", params={"query": server.admin_email}).json()["users"][0]["id"]
    r = server.rest("POST", "/users", json={"user": {"type": "user", "name": "Dee Okafor", "email": "dee@example.com",
                                                     "role": "user"}})
    assert r.status_code == 201, r.text
    dee = r.json()["user"]["id"]

    def layer(name: str, users: list[str], turn: int, **extra: Any) -> dict[str, Any]:
        return {"name": name, "start": "2024-01-01T00:00:00Z", "rotation_virtual_start": "2024-01-01T00:00:00Z",
                "rotation_turn_length_seconds": turn,
                "users": [{"user": {"id": u, "type": "user_reference"}} for u in users], **extra}
    daytime = [{"type": "weekly_restriction", "start_day_of_week": day, "start_time_of_day": "09:00:00",
                "duration_seconds": 8 * 3600} for day in range(1, 6)]
    body = {"schedule": {"name": "Primary", "time_zone": "Europe/Paris", "schedule_layers": [
        layer("Weekly", [admin, dee], 7 * 86_400, restrictions=[
            {"type": "daily_restriction", "start_time_of_day": "07:00:00", "duration_seconds": 20 * 3600}]),
        layer("Business hours", [dee, admin], 86_400, restrictions=daytime)]}}
    r = server.rest("POST", "/schedules", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["schedule"]["id"])


def _incident_id(server: Server, dedup_key: str) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = server.rest("GET", "/incidents", params={"statuses[]": ["triggered", "acknowledged"], "limit": 100})
        for incident in r.json()["incidents"]:
            alerts = server.rest("GET", f"/incidents/{incident['id']}/alerts").json()["alerts"]
            if any(a["alert_key"] == dedup_key for a in alerts):
                return str(incident["id"])
        time.sleep(0.1)
    raise AssertionError(f"no incident for {dedup_key}")


def test_sign_in_then_a_new_event_appears_within_two_seconds(server: Server, chromium: Any) -> None:
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(server.url + "/")
    assert page.get_by_role("heading", name="Sign in to Tocsin").is_visible()
    screenshot(page, "sign-in-desktop")
    sign_in(page, server)
    page.wait_for_function("() => document.querySelector('[sse-connect]') && window.htmx")
    time.sleep(0.3)  # the feed's first "changed" and its refresh settle
    started = time.monotonic()
    server.send_event("Checkout errors above 5%")
    page.wait_for_selector("text=Checkout errors above 5%", timeout=2000)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1  # never reloaded
    assert page.locator("[data-count=triggered]").inner_text() != "0"
    screenshot(page, "incidents-desktop")
    context.close()


def test_an_acknowledgement_in_one_browser_shows_live_in_another(server: Server, chromium: Any) -> None:
    key = server.send_event("Queue depth growing")
    incident = _incident_id(server, key)
    one, two = chromium.new_context(viewport=DESKTOP), chromium.new_context(viewport=DESKTOP)
    first, second = one.new_page(), two.new_page()
    sign_in(first, server)
    sign_in(second, server)
    second.wait_for_selector(f"#row-{incident}[data-status=triggered]")
    time.sleep(0.3)
    first.locator(f"#sel-{incident}").check()
    first.get_by_role("button", name="Acknowledge selected").click()
    first.wait_for_selector(f"#row-{incident}[data-status=acknowledged]")
    assert "Acknowledged 1 incident(s)." in first.locator(".notice").inner_text()
    second.wait_for_selector(f"#row-{incident}[data-status=acknowledged]", timeout=2000)
    assert "Acknowledged" in second.locator(f"#row-{incident}").inner_text()
    assert second.evaluate("() => performance.getEntriesByType('navigation').length") == 1
    one.close()
    two.close()


def test_the_timeline_shows_the_email_sent_to_the_smtp_server(server: Server, chromium: Any) -> None:
    key = server.send_event("Payment API 500s", custom_details={"errors_per_minute": 240})
    incident = _incident_id(server, key)
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, server)
    page.goto(f"{server.url}/ui/incidents/{incident}")
    page.wait_for_selector(".entry-notify_log_entry .outcome-ok", timeout=15000)
    entry = page.locator(".entry-notify_log_entry").first.inner_text()
    assert "Email" in entry and "Delivered to the provider" in entry and server.admin_email in entry
    deadline = time.monotonic() + 5
    while not any(incident_title_in(e.content, "Payment API 500s") for e in server.mailbox.received):
        assert time.monotonic() < deadline, "the SMTP server received no page"
        time.sleep(0.1)
    assert page.locator("[data-field=level]").inner_text().startswith("Level 1 of")
    assert re.search(r"in \d", page.locator("[data-field=next-escalation]").inner_text())
    screenshot(page, "incident-desktop")
    context.close()


def incident_title_in(content: Any, title: str) -> bool:
    return isinstance(content, bytes) and title.encode() in content


def test_acknowledge_with_the_keyboard_only(server: Server, chromium: Any) -> None:
    key = server.send_event("Keyboard only")
    incident = _incident_id(server, key)
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, server)
    page.wait_for_selector(f"#sel-{incident}")

    def tab_to(test: str, backwards: bool = False) -> None:
        for _ in range(80):
            page.keyboard.press("Shift+Tab" if backwards else "Tab")
            if page.evaluate(f"() => {{ const e = document.activeElement; return {test}; }}"):
                return
        raise AssertionError(f"never reached {test}")

    tab_to(f"e && e.id === 'sel-{incident}'")
    page.keyboard.press("Space")
    assert page.locator(f"#sel-{incident}").is_checked()
    tab_to("e && e.textContent.trim() === 'Acknowledge selected'", backwards=True)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#row-{incident}[data-status=acknowledged]")
    # The incident page's own buttons work from the keyboard too: focus is visible on each.
    page.goto(f"{server.url}/ui/incidents/{incident}")
    tab_to("e && e.id === 'content'")
    page.keyboard.type("Checked from the keyboard")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Checked from the keyboard")
    context.close()


def test_phone_width_has_no_horizontal_scroll(server: Server, chromium: Any) -> None:
    key = server.send_event("A-very-long-unbroken-title-" * 6 + " on db-primary-eu-west-1",
                            custom_details={"query": "SELECT " + "x" * 300})
    incident = _incident_id(server, key)
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(server.url + "/")
    assert horizontal_overflow(page) == 0
    screenshot(page, "sign-in-phone")
    page.goto(server.url + "/ui/password/forgot")
    assert horizontal_overflow(page) == 0
    sign_in(page, server)
    assert horizontal_overflow(page) == 0
    screenshot(page, "incidents-phone")
    page.goto(f"{server.url}/ui/incidents/{incident}")
    time.sleep(0.5)  # the feed's first refresh
    page.locator("details.alert summary").first.click()
    server.rest("POST", f"/incidents/{incident}/notes", json={"note": {"content": "live while open"}})
    page.wait_for_selector("text=live while open")
    assert page.locator("details.alert").first.get_attribute("open") is not None  # kept open across the update
    assert horizontal_overflow(page) == 0
    screenshot(page, "incident-phone")
    for path, name in more_pages(server):
        page.goto(server.url + path)
        assert horizontal_overflow(page) == 0, path
        screenshot(page, f"{name}-phone")
    context.close()


def test_no_serious_accessibility_violations_on_any_page(server: Server, chromium: Any) -> None:
    key = server.send_event("Accessibility check", custom_details={"a": 1})
    incident = _incident_id(server, key)
    # axe is injected as an inline script, which the pages' CSP forbids (rightly): bypass it here only.
    context = chromium.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    pages: dict[str, list[dict[str, Any]]] = {}
    page.goto(server.url + "/")
    pages["sign-in"] = axe_violations(page)
    page.goto(server.url + "/ui/password/forgot")
    pages["forgot-password"] = axe_violations(page)
    sign_in(page, server)
    pages["incidents"] = axe_violations(page)
    page.goto(f"{server.url}/ui/incidents/{incident}")
    page.locator("details.alert summary").first.click()
    pages["incident"] = axe_violations(page)
    for path, name in more_pages(server):
        page.goto(server.url + path)
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")  # their forms too
        pages[name] = axe_violations(page)
    page.goto(f"{server.url}/ui/incidents/PNOSUCHINCIDEN")
    pages["not-found"] = axe_violations(page)
    context.close()
    assert all(found == [] for found in pages.values()), {name: found for name, found in pages.items() if found}


def test_everything_works_without_javascript(server: Server, chromium: Any) -> None:
    key = server.send_event("No JavaScript here")
    incident = _incident_id(server, key)
    context = chromium.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, server)
    page.locator(f"#sel-{incident}").check()
    page.get_by_role("button", name="Acknowledge selected").click()
    page.wait_for_selector(f"#row-{incident}[data-status=acknowledged]")
    page.goto(f"{server.url}/ui/incidents/{incident}")
    page.get_by_label("Resolution note (optional)").fill("Fixed without scripts")
    page.get_by_role("button", name="Resolve").click()
    page.wait_for_selector("text=Fixed without scripts")
    assert "Resolved" in page.locator("[data-field=status]").inner_text()
    context.close()


def test_create_an_override_and_see_the_drawing_change(server: Server, chromium: Any) -> None:
    schedule = schedule_id(server)
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, server)
    page.get_by_role("link", name="Schedules").click()
    page.wait_for_selector(f"[data-schedule='{schedule}']")
    screenshot(page, "schedules-desktop")
    page.get_by_role("link", name="Primary").click()
    page.wait_for_selector("[data-lane=final]")
    assert page.locator("[data-lane=overrides] g.block").count() == 0
    before = page.locator("[data-lane=final]").inner_html()
    # The form starts at the next whole hour on the viewer's clock, for four hours: choose who.
    page.get_by_label("Who is on call instead").select_option(label="Dee Okafor")
    page.get_by_role("button", name="Create override").click()
    page.wait_for_selector("text=Override created")
    override = page.locator("[data-lane=overrides] g.block")
    assert override.count() == 1 and "Dee Okafor (override), from " in str(override.get_attribute("aria-label"))
    final = page.locator("[data-lane=final] g.block[data-kind=override]")
    assert final.count() == 1 and final.get_attribute("data-user") == override.get_attribute("data-user")
    assert page.locator("[data-lane=final]").inner_html() != before
    screenshot(page, "schedule-desktop")
    # Paging on and back is plain links: the override is still drawn where it was.
    with page.expect_navigation():  # counted on the new page, not the one being left
        page.get_by_role("link", name="Next 2 weeks").click()
    assert page.locator("[data-lane=overrides] g.block").count() == 0
    with page.expect_navigation():
        page.get_by_role("link", name="Previous 2 weeks").click()
    assert page.locator("[data-lane=overrides] g.block").count() == 1
    context.close()


def test_change_priority_then_merge_two_incidents_from_the_list(server: Server, chromium: Any) -> None:
    first = _incident_id(server, server.send_event("Cache misses rising"))
    second = _incident_id(server, server.send_event("Cache evictions rising"))
    context = chromium.new_context(viewport=DESKTOP, bypass_csp=True)  # axe runs here too (see above)
    page = context.new_page()
    sign_in(page, server)
    page.goto(f"{server.url}/ui/incidents/{first}")
    page.get_by_label("Priority", exact=True).select_option(label="P2")
    page.get_by_role("button", name="Set priority").click()
    page.wait_for_selector("text=Priority changed.")
    assert "P2" in page.locator(".facts").first.inner_text()
    screenshot(page, "incident-actions-desktop")
    page.goto(server.url + "/")
    page.locator(f"#sel-{first}").check()
    page.locator(f"#sel-{second}").check()
    page.get_by_role("button", name="Merge selected").click()
    page.wait_for_selector("h1:has-text('Merge 2 incidents')")
    assert page.locator(f"input[name=target][value={first}]").is_checked()  # the oldest, preselected
    assert axe_violations(page) == []
    screenshot(page, "merge-desktop")
    page.set_viewport_size(PHONE)
    assert horizontal_overflow(page) == 0
    screenshot(page, "merge-phone")
    page.set_viewport_size(DESKTOP)
    page.get_by_label(re.compile("Cache evictions rising")).check()
    page.get_by_role("button", name="Merge into the chosen incident").click()
    page.wait_for_selector("text=was merged into this one.")
    assert page.url.startswith(f"{server.url}/ui/incidents/{second}")
    assert page.locator("#alerts-h").inner_text() == "Alerts (2)"
    context.close()
