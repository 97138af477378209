"""The pages a notification's action links open, in Debian's Chromium: they fit a phone (a long
unbroken title wraps rather than scrolling sideways) and axe-core finds nothing serious. The pages
are pure strings (``engine.action_pages``), so no server is needed; screenshots go to
``tests/ui/artifacts/``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.ui.browser import DESKTOP, PHONE, axe_violations, chromium, horizontal_overflow, screenshot
from tocsin.engine import action_pages as pages
from tocsin.notifications.links import ACKNOWLEDGE, RESOLVE

__all__ = ["chromium"]  # a fixture, used by name
pytestmark = pytest.mark.e2e

UNBROKEN = "Averyveryverylongunbrokentitlewithoutanyspaces" * 3
VIEWS = [pages.IncidentView(41, "Disk full on db-1", "Payments", "triggered", "high"),
         pages.IncidentView(42, UNBROKEN, "Checkout & Cart " * 4, "acknowledged", "low")]
POST = "https://tocsin.example/notification_actions/token"
PAGES = {
    "action-link": pages.action_page(VIEWS[1], ACKNOWLEDGE, POST),
    "action-link-all": pages.bundle_action_page(VIEWS, ACKNOWLEDGE, POST),
    # After the button, as the page is then: both incidents resolved.
    "action-link-all-done": pages.bundle_done_page([replace(v, status="resolved") for v in VIEWS], RESOLVE,
                                                   "Ada Lovelace"),
}


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_action_link_pages_fit_the_screen_and_pass_axe(chromium: Any, width: str) -> None:
    context = chromium.new_context(viewport=DESKTOP if width == "desktop" else PHONE)
    page = context.new_page()
    for name, html in PAGES.items():
        page.set_content(html)
        assert horizontal_overflow(page) == 0, name
        screenshot(page, f"{name}-{width}")
        assert axe_violations(page) == [], name
    context.close()
