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
from tocsin.ids import new_id
from tocsin.notifications.links import ACKNOWLEDGE, ACTION_PATH, RESOLVE, VOICE, sign
from tocsin.notifications.models import EMAIL, INCIDENT, SENT, Notification


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


async def _bundled_email(h: Harness, incident_id: str, user_id: str, bundle: str, *, nid: str | None = None) -> str:
    """A sent email row of a bundled page (its lead row ``bundle``), as the notify step records it."""
    nid = nid or new_id()
    async with h.tocsin.db.transaction() as session:
        session.add(Notification(
            id=nid, key=f"inc:{incident_id}:{user_id}:{nid}", kind=INCIDENT, incident_id=incident_id,
            user_id=user_id, channel=EMAIL, address="someone@example.com", status=SENT, due_at=NOW, attempts=1,
            sent_at=NOW, created_at=NOW, updated_at=NOW, detail={"bundle": bundle}))
    return nid


async def test_an_all_link_acts_on_each_open_incident_its_bundle_named_and_nothing_else(harness: Harness) -> None:
    h = harness
    freeze(h)
    ada, bob = await new_user(h, "Ada"), await new_user(h, "Bob")
    one, two, done_already, elsewhere = [await new_incident(h, t) for t in ("One", "Two", "Done", "Elsewhere")]
    lead = new_id()
    for inc in (one, two, done_already):
        await _bundled_email(h, inc["id"], ada, lead, nid=lead if inc is one else None)
    await _bundled_email(h, elsewhere["id"], bob, lead)  # not Ada's: never acted on through her link
    assert (await h.client.put(f"/incidents/{done_already['id']}", headers=h.writer, json={
        "incident": {"type": "incident_reference", "status": "resolved"}})).status_code == 200
    path = await action_path(h, one["id"], ada, ACKNOWLEDGE, bundle=lead)
    page = await h.client.get(path)
    assert page.status_code == 200 and "Acknowledge 2 incidents?" in page.text
    assert "One" in page.text and "Two" in page.text and "Done" not in page.text and "Elsewhere" not in page.text
    assert page.text.count("<button") == 1
    r = await h.client.post(path)
    assert r.status_code == 200 and "2 incidents acknowledged" in r.text and "as Ada" in r.text
    assert [(await incident(h, i["id"]))["status"] for i in (one, two, done_already, elsewhere)] == [
        "acknowledged", "acknowledged", "resolved", "triggered"]
    resolve = await action_path(h, one["id"], ada, RESOLVE, bundle=lead)
    assert "2 incidents resolved" in (await h.client.post(resolve)).text
    calm = await h.client.get(resolve)  # every one resolved now: nothing left, no button
    assert calm.status_code == 200 and "Nothing left to do" in calm.text and "<button" not in calm.text
    assert "Nothing left to do" in (await h.client.post(resolve)).text


async def test_an_all_link_of_an_observer_changes_none_of_them(harness: Harness) -> None:
    h = harness
    freeze(h)
    watcher = await new_user(h, "Watcher", role="observer")
    one, two = await new_incident(h, "One"), await new_incident(h, "Two")
    lead = new_id()
    await _bundled_email(h, one["id"], watcher, lead, nid=lead)
    await _bundled_email(h, two["id"], watcher, lead)
    r = await h.client.post(await action_path(h, one["id"], watcher, RESOLVE, bundle=lead))
    assert r.status_code == 403 and "may not change incidents" in r.text
    assert [(await incident(h, i["id"]))["status"] for i in (one, two)] == ["triggered", "triggered"]
