"""Action links: GET shows one button and changes nothing; POST acts as the token's user through
the incident seam; broken, expired and stale links get calm HTML pages, never a 500."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Harness
from tests.engine.helpers import (
    NOW,
    action_path,
    freeze,
    incident,
    log_entries,
    new_incident,
    new_user,
    secret_of,
)
from tocsin.notifications.links import ACKNOWLEDGE, ACTION_PATH, RESOLVE, VOICE, sign


async def test_get_shows_the_incident_and_one_button_and_changes_nothing(harness: Harness) -> None:
    h = harness
    freeze(h)
    ada = await new_user(h, "Ada")
    inc = await new_incident(h)
    before = await log_entries(h, inc["id"])
    path = await action_path(h, inc["id"], ada, ACKNOWLEDGE)
    scanned = await h.client.get(path)  # a mail scanner; no credentials: the token is the access
    r = await h.client.get(path)  # then the person
    assert scanned.status_code == 200 and r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    page = r.text
    assert f"#{inc['incident_number']}" in page and "Disk full on db-1" in page and "triggered" in page
    assert page.count("<button") == 1 and f'action="http://tocsin.test{path}"' in page
    assert (await incident(h, inc["id"]))["status"] == "triggered"
    assert await log_entries(h, inc["id"]) == before


async def test_post_acknowledges_as_the_links_user_through_the_website_channel(harness: Harness) -> None:
    h = harness
    freeze(h)
    ada = await new_user(h, "Ada")
    inc = await new_incident(h)
    r = await h.client.post(await action_path(h, inc["id"], ada, ACKNOWLEDGE))
    assert r.status_code == 200, r.text
    assert f"Incident #{inc['incident_number']} acknowledged" in r.text and "as Ada" in r.text
    after = await incident(h, inc["id"])
    assert after["status"] == "acknowledged"
    assert [a["acknowledger"]["id"] for a in after["acknowledgements"]] == [ada]
    [entry] = [e for e in await log_entries(h, inc["id"]) if e["type"] == "acknowledge_log_entry"]
    assert entry["agent"]["id"] == ada and entry["channel"]["type"] == "website"
    assert entry["summary"] == "Acknowledged by Ada through a notification's action link."
    assert entry["created_at"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_resolve_then_a_second_click_is_calm(harness: Harness) -> None:
    h = harness
    freeze(h)
    ada = await new_user(h, "Ada")
    inc = await new_incident(h)
    path = await action_path(h, inc["id"], ada, RESOLVE)
    r = await h.client.post(path)
    assert r.status_code == 200 and "resolved" in r.text
    assert (await incident(h, inc["id"]))["status"] == "resolved"
    entries = await log_entries(h, inc["id"])
    [resolved] = [e for e in entries if e["type"] == "resolve_log_entry"]
    assert resolved["agent"]["id"] == ada and resolved["channel"]["type"] == "website"
    again = await h.client.post(path)
    assert again.status_code == 200 and "already resolved" in again.text
    assert len(await log_entries(h, inc["id"])) == len(entries)
    shown = await h.client.get(await action_path(h, inc["id"], ada, ACKNOWLEDGE))
    assert shown.status_code == 200 and "already resolved" in shown.text and "<button" not in shown.text
    late_ack = await h.client.post(await action_path(h, inc["id"], ada, ACKNOWLEDGE))
    assert late_ack.status_code == 200 and "already resolved" in late_ack.text
    assert (await incident(h, inc["id"]))["status"] == "resolved"


async def test_expired_broken_and_foreign_tokens_get_pages_not_errors(harness: Harness) -> None:
    h = harness
    clock = freeze(h)
    ada = await new_user(h, "Ada")
    inc = await new_incident(h)
    expiring = await action_path(h, inc["id"], ada, ACKNOWLEDGE, expires_at=NOW + timedelta(minutes=5))
    clock.advance(minutes=5)
    for method in ("GET", "POST"):
        r = await h.client.request(method, expiring)
        assert r.status_code == 410 and "expired" in r.text and r.headers["content-type"].startswith("text/html")
    secret = await secret_of(h)
    voice = sign(secret, incident_id=inc["id"], user_id=ada, action=VOICE, expires_at=NOW + timedelta(days=1))
    forged = sign(b"x" * 32, incident_id=inc["id"], user_id=ada, action=RESOLVE, expires_at=NOW + timedelta(days=1))
    for path in (f"{ACTION_PATH}/{voice}", f"{ACTION_PATH}/{forged}", f"{ACTION_PATH}/abc", f"{ACTION_PATH}/a.b",
                 f"{ACTION_PATH}/{'x' * 3000}"):
        for method in ("GET", "POST"):
            r = await h.client.request(method, path)
            assert r.status_code == 404, (method, path[:60], r.text)
            assert "not valid" in r.text
    unknown = await action_path(h, "PNOSUCH", ada, RESOLVE)
    assert (await h.client.get(unknown)).status_code == 404
    assert (await h.client.post(unknown)).status_code == 404
    assert (await incident(h, inc["id"]))["status"] == "triggered"


async def test_a_deleted_user_or_an_observer_cannot_act(harness: Harness) -> None:
    h = harness
    freeze(h)
    gone = await new_user(h, "Gone")
    watcher = await new_user(h, "Watcher", role="observer")
    inc = await new_incident(h)
    path = await action_path(h, inc["id"], gone, RESOLVE)
    r = await h.client.delete(f"/users/{gone}", headers=h.writer)
    assert r.status_code == 204, r.text
    refused = await h.client.post(path)
    assert refused.status_code == 403 and "no longer exists" in refused.text
    observer = await h.client.post(await action_path(h, inc["id"], watcher, ACKNOWLEDGE))
    assert observer.status_code == 403 and "may not change incidents" in observer.text
    assert (await incident(h, inc["id"]))["status"] == "triggered"
