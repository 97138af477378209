"""The action-link pages: one POST form, everything escaped, nothing loaded from elsewhere."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from tocsin.engine import action_pages as pages
from tocsin.engine.action_pages import IncidentView, action_page, already_resolved_page, done_page, message_page
from tocsin.notifications.links import ACKNOWLEDGE, RESOLVE

VIEW = IncidentView(number=42, title="Disk full on db-1", service="Payments", status="triggered", urgency="high")


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    return parser


def test_the_action_page_has_one_post_button_and_names_the_incident() -> None:
    page = action_page(VIEW, RESOLVE, "https://tocsin.example/notification_actions/tok")
    parsed = parse(page)
    forms = [a for t, a in parsed.tags if t == "form"]
    assert forms == [{"method": "post", "action": "https://tocsin.example/notification_actions/tok"}]
    buttons = [a for t, a in parsed.tags if t == "button"]
    assert buttons == [{"type": "submit"}]
    text = " ".join(parsed.text)
    for fact in ("#42", "Disk full on db-1", "Payments", "triggered", "Resolve incident #42"):
        assert fact in text
    # Accessible and self-contained: a language, a viewport, no script, nothing fetched from elsewhere.
    assert ("html", {"lang": "en"}) in parsed.tags
    assert any(t == "meta" and a.get("name") == "viewport" for t, a in parsed.tags)
    assert not any(t in ("script", "link", "img", "iframe") for t, _ in parsed.tags)
    assert not re.search(r"(src|href)=", page)


def test_an_acknowledged_incident_can_be_acknowledged_again_and_a_resolved_one_has_no_button() -> None:
    acked = action_page(IncidentView(1, "t", "s", "acknowledged", "high"), ACKNOWLEDGE, "/x")
    assert "already acknowledged" in acked and "<button" in acked
    resolved = action_page(IncidentView(1, "t", "s", "resolved", "high"), ACKNOWLEDGE, "/x")
    assert "<button" not in resolved and "<form" not in resolved and "already resolved" in resolved


def test_result_pages() -> None:
    assert "Incident #42 acknowledged" in done_page(VIEW, ACKNOWLEDGE, "Ada")
    assert "as Ada" in done_page(VIEW, ACKNOWLEDGE, "Ada")
    merged = already_resolved_page(IncidentView(3, "t", "s", "resolved", "low", merged_into=9))
    assert "merged into incident #9" in merged
    assert "<form" not in message_page("Gone", "It is gone.")


@given(st.text(max_size=80), st.text(max_size=40))
def test_every_value_is_escaped(title: str, service: str) -> None:
    page = action_page(IncidentView(7, title, service, "triggered", "high"), ACKNOWLEDGE, '/a"><script>x')
    parsed = parse(page)
    assert not any(t == "script" for t, _ in parsed.tags)
    assert [t for t, _ in parsed.tags].count("form") == 1
    assert [t for t, _ in parsed.tags].count("button") == 1


def test_a_bundles_pages_list_its_incidents_with_one_button_for_all() -> None:
    views = [VIEW, IncidentView(43, "<b>Queue</b> stuck", "Search & Co", "acknowledged", "low")]
    page = pages.bundle_action_page(views, ACKNOWLEDGE, "https://tocsin.example/notification_actions/tok")
    parsed = parse(page)
    assert [a for t, a in parsed.tags if t == "form"] == [
        {"method": "post", "action": "https://tocsin.example/notification_actions/tok"}]
    assert [a for t, a in parsed.tags if t == "button"] == [{"type": "submit"}]
    text = " ".join(parsed.text)
    for fact in ("Acknowledge 2 incidents?", "#42", "Disk full on db-1", "#43", "<b>Queue</b> stuck", "Search & Co",
                 "Acknowledge all 2"):
        assert fact in text
    assert "<b>" not in page and not re.search(r"(src|href)=", page)
    done = pages.bundle_done_page(views[:1], RESOLVE, "Ada")
    assert "1 incident resolved" in done and "Resolved as Ada" in done and "<button" not in done
