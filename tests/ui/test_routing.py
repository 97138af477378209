"""Which requests the web UI answers and which the REST API does (tocsin.ui.app.is_ui_path)."""

from __future__ import annotations

from tocsin.ui.app import is_ui_path

PAGERDUTY_JSON = "application/vnd.pagerduty+json;version=2"


def test_the_home_page_is_the_uis_only_for_a_page_load() -> None:
    assert is_ui_path("/", "GET", "text/html,application/xhtml+xml,*/*;q=0.8")  # a browser
    assert is_ui_path("/", "GET", "*/*") and is_ui_path("/", "HEAD", "")  # curl, a probe
    # An API client whose URL collapsed to "/" (an id of ".."), or any write there: the REST API's
    # PagerDuty-shaped answer, never an HTML page.
    assert not is_ui_path("/", "GET", PAGERDUTY_JSON)
    assert not is_ui_path("/", "GET", "application/json")
    assert not is_ui_path("/", "DELETE", "*/*") and not is_ui_path("/", "POST", "text/html")


def test_the_uis_own_paths_are_its_whatever_the_method() -> None:
    assert is_ui_path("/ui/incidents/PABC", "POST", "*/*")
    assert not is_ui_path("/incidents", "GET", "text/html")
    assert not is_ui_path("/uiextra", "GET", "text/html")
