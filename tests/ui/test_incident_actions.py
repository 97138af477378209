"""The incident pages act through the incidents domain's logic: the same rules and log entries as
the REST API, with the channel ``website``; the list filters by GET parameters."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Harness
from tests.helpers import create_policy
from tests.ui.helpers import browser, csrf_of, incident_ids, new_user, set_password, sign_in, trigger
from tocsin.notifications.bundles import triggered_list_url
from tocsin.notifications.messages import incident_url
from tocsin.ui import views


async def _incident(h: Harness, incident_id: str) -> dict[str, Any]:
    r = await h.client.get(f"/incidents/{incident_id}", headers=h.auth)
    return dict(r.json()["incident"])


async def _log(h: Harness, incident_id: str) -> list[dict[str, Any]]:
    r = await h.client.get(f"/incidents/{incident_id}/log_entries", headers=h.auth)
    return list(reversed(r.json()["log_entries"]))


async def test_bulk_acknowledge_and_resolve_from_the_list(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    for n in range(3):
        await trigger(h, f"Disk {n} full")
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        home = await c.get("/")
        ids = incident_ids(home.text)
        assert len(ids) == 3
        assert home.text.index("Disk 2 full") < home.text.index("Disk 0 full")  # newest first
        assert 'data-count="triggered">3<' in home.text
        r = await c.post("/ui/incidents/bulk", data={"csrf": csrf_of(home.text), "action": "acknowledge",
                                                     "incident": ids[:2], "back": "/?urgency=high"})
        assert r.status_code == 303 and r.headers["location"] == "/?urgency=high&done=acknowledged&count=2"
        after = await c.get(r.headers["location"])
        assert "Acknowledged 2 incident(s)." in after.text
        assert 'data-count="triggered">1<' in after.text and 'data-count="acknowledged">2<' in after.text
        r = await c.post("/ui/incidents/bulk", data={"csrf": csrf_of(after.text), "action": "resolve",
                                                     "incident": ids})
        assert r.status_code == 303
        assert "No incidents match" in (await c.get("/")).text
        assert set(incident_ids((await c.get("/?status=resolved")).text)) == set(ids)
    entries = await _log(h, ids[0])
    ack = next(e for e in entries if e["type"] == "acknowledge_log_entry")
    assert ack["channel"]["type"] == "website" and ack["agent"]["type"] == "user_reference"
    assert (await _incident(h, ids[0]))["status"] == "resolved"


async def test_filters_mine_service_status_urgency(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    await trigger(h, "High one")
    await trigger(h, "Low one", severity="info")  # the demo service: info -> still its urgency rule
    other = await new_user(h, "Bob", "user")
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        everything = incident_ids((await c.get("/")).text)
        assert len(everything) == 2
        assert incident_ids((await c.get("/?mine=1")).text) == everything  # the Default policy pages the admin
        assert incident_ids((await c.get("/?service=PNOSUCHSERVICE")).text) == []
        assert incident_ids((await c.get(f"/?service={h.seed.service_id}")).text) == everything
        assert incident_ids((await c.get("/?status=acknowledged")).text) == []
        assert incident_ids((await c.get("/?status=bogus")).text) == everything  # unknown values are dropped
        low = incident_ids((await c.get("/?urgency=low")).text)
        high = incident_ids((await c.get("/?urgency=high")).text)
        assert sorted(low + high) == sorted(everything)
        teams = await c.get("/?teams=1")
        assert "You are in no team" in teams.text and incident_ids(teams.text) == []
    await set_password(h, other)
    async with browser(h) as c:
        await sign_in(c, other)
        assert incident_ids((await c.get("/?mine=1")).text) == []


async def test_every_action_on_the_incident_page(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    bob = await new_user(h, "Bob", "user")
    await trigger(h, "API latency", custom_details={"p99_ms": 950},
                  links=[{"href": "https://grafana.example/d/1", "text": "Dashboard"},
                         {"href": "javascript:alert(1)", "text": "Evil"}])
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        [incident] = incident_ids((await c.get("/")).text)
        path = f"/ui/incidents/{incident}"
        page = await c.get(path)
        assert page.status_code == 200
        for text in ("API latency", "Level 1 of 1", "Next escalation", "Demo Service", "p99_ms", "Dashboard",
                     'href="https://grafana.example/d/1"', "Triggered"):
            assert text in page.text, text
        assert "javascript:" not in page.text
        token = csrf_of(page.text)

        async def post(action: str, **data: str) -> None:
            r = await c.post(f"{path}/{action}", data={"csrf": token, **data})
            assert r.status_code == 303, (action, r.text[:500])
            assert r.headers["location"] == f"{path}?done={action}"

        await post("acknowledge")
        await post("snooze", minutes="60")
        snoozed = await c.get(path)
        assert "Returns to triggered" in snoozed.text and "Acknowledged" in snoozed.text
        await post("note", content="Looking at the DB <script>alert(1)</script>")
        await post("escalate", level="1")
        bob_id = next(u["id"] for u in (await h.client.get("/users", headers=h.auth)).json()["users"]
                      if u["email"] == bob)
        await post("reassign", user=bob_id)
        await post("resolve", resolution="Restarted the pool")
        final = await c.get(path)
        assert "Note by" in final.text and "Restarted the pool" in final.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in final.text and "<script>alert(1)" not in final.text
        assert ">Acknowledge<" not in final.text  # resolved: no state actions left
        bad = await c.post(f"{path}/snooze", data={"csrf": csrf_of(final.text), "minutes": "60"})
        assert bad.status_code == 400  # only acknowledged incidents snooze (the domain's rule)
        bad = await c.post(f"{path}/escalate", data={"csrf": csrf_of(final.text), "level": "x"})
        assert bad.status_code == 400
    body = await _incident(h, incident)
    assert body["status"] == "resolved"
    kinds = [(e["type"], e["channel"]["type"]) for e in await _log(h, incident)]
    for kind in ("acknowledge_log_entry", "snooze_log_entry", "annotate_log_entry", "escalate_log_entry",
                 "assign_log_entry", "resolve_log_entry"):
        assert (kind, "website") in kinds, (kind, kinds)
    notes = (await h.client.get(f"/incidents/{incident}/notes", headers=h.auth)).json()["notes"]
    assert [n["content"] for n in notes] == ["Looking at the DB <script>alert(1)</script>", "Restarted the pool"]


async def test_an_unknown_incident_is_a_404_page(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        r = await c.get("/ui/incidents/PNOSUCHINCIDEN")
        assert r.status_code == 404 and "Incident not found" in r.text
        r = await c.get("/ui/nothing-here")
        assert r.status_code == 404 and "Page not found" in r.text


async def test_the_live_fragments_render_the_same_rows(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    await trigger(h)
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        [incident] = incident_ids((await c.get("/")).text)
        part = await c.get("/?part=list")
        assert "<html" not in part.text and incident in part.text and 'hx-swap-oob="innerHTML"' in part.text
        live = await c.get(f"/ui/incidents/{incident}?part=live")
        assert "<html" not in live.text and "Timeline" in live.text and "Incident 1 is triggered" in live.text


async def _users(h: Harness) -> dict[str, str]:
    return {u["email"]: u["id"] for u in (await h.client.get("/users", headers=h.auth)).json()["users"]}


async def test_policy_priority_urgency_and_merge_from_the_incident_page(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    bob = await new_user(h, "Bob", "user")
    bob_id = (await _users(h))[bob]
    policy = await create_policy(h, "Database on call", targets=[{"id": bob_id, "type": "user_reference"}])
    priorities = (await h.client.get("/priorities", headers=h.auth)).json()["priorities"]
    for n in range(3):
        await trigger(h, f"Replica {n} lagging")
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        third, second, first = incident_ids((await c.get("/")).text)  # newest first
        path = f"/ui/incidents/{first}"
        page = await c.get(path)
        for text in ("Reassign to escalation policy", "Database on call", ">Set priority<", priorities[0]["name"],
                     ">Set urgency<", "Merge into incident"):
            assert text in page.text, text
        token = csrf_of(page.text)

        async def post(action: str, incident: str = first, **data: str) -> Any:
            return await c.post(f"/ui/incidents/{incident}/{action}", data={"csrf": token, **data})

        r = await post("delegate", policy=policy["id"])
        assert r.status_code == 303 and r.headers["location"] == f"{path}?done=delegate"
        delegated = (await c.get(r.headers["location"])).text
        assert "Reassigned to the escalation policy." in delegated and "Level 1 of 1" in delegated
        body = await _incident(h, first)
        assert body["escalation_policy"]["id"] == policy["id"]
        assert [a["assignee"]["id"] for a in body["assignments"]] == [bob_id]  # its level 1, paged anew
        assert (await post("priority", priority=priorities[1]["id"])).status_code == 303
        assert (await _incident(h, first))["priority"]["id"] == priorities[1]["id"]
        assert priorities[1]["name"] in (await c.get(path)).text
        assert (await post("priority", priority="")).status_code == 303  # "None" takes it away
        assert (await _incident(h, first))["priority"] is None
        assert (await post("urgency", urgency="low")).status_code == 303
        assert (await _incident(h, first))["urgency"] == "low"

        # Refusals show the incident's page again with the domain's PagerDuty-shaped errors; nothing changes.
        for action, data, expected in (
            ("delegate", {"policy": "PNOSUCHPOLICY"}, "incident.escalation_policy: escalation policy PNOSUCHPOLICY"),
            ("priority", {"priority": "PNOSUCHPRIO"}, "incident.priority: priority PNOSUCHPRIO not found"),
            ("urgency", {"urgency": "medium"}, "incident.urgency: Input should be"),
            ("merge", {"target": "#99999"}, "target: there is no incident #99999"),
            ("merge", {"target": "99999999999999999999"}, "target: there is no incident"),
            ("merge", {"target": ""}, "give the number or id"),
            ("merge", {"target": first}, "cannot be merged into itself"),
        ):
            r = await post(action, **data)
            assert r.status_code == 400, (action, r.status_code, r.text[:300])
            assert 'role="alert"' in r.text and "Invalid Input Provided" in r.text and expected in r.text, action
            assert "Replica 0 lagging" in r.text and ">Set urgency<" in r.text  # the page itself, forms and all
        after = await _incident(h, first)
        assert (after["urgency"], after["priority"], after["escalation_policy"]["id"]) == ("low", None, policy["id"])

        # Merge this incident into another, named by its number: this one is the source.
        target = await _incident(h, second)
        r = await post("merge", target=f"#{target['incident_number']}")
        assert r.status_code == 303
        assert r.headers["location"] == f"/ui/incidents/{second}?done=merged&merged={after['incident_number']}"
        shown = await c.get(r.headers["location"])
        assert f"Incident #{after['incident_number']} was merged into this one." in shown.text
        assert "Replica 0 lagging" in shown.text  # its alert moved here
        r = await post("merge", incident=third, target=second)  # by id
        assert r.status_code == 303
        r = await post("merge", incident=second, target=first)  # a resolved target
        assert r.status_code == 400 and "The target incident is resolved" in r.text
    assert (await _incident(h, first))["status"] == "resolved"
    alerts = (await h.client.get(f"/incidents/{second}/alerts", headers=h.auth)).json()["alerts"]
    assert len(alerts) == 3
    for incident, kinds in ((first, ("delegate_log_entry", "field_value_change_log_entry", "urgency_change_log_entry",
                                     "resolve_log_entry")), (third, ("resolve_log_entry",))):
        logged = {(e["type"], e["channel"]["type"]) for e in await _log(h, incident)}
        for kind in kinds:
            assert (kind, "website") in logged, (kind, logged)


async def test_merging_several_from_the_list_into_the_chosen_one(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    for n in range(4):
        await trigger(h, f"Shard {n} down")
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        home = await c.get("/")
        assert "Merge selected" in home.text
        newest, third, second, oldest = incident_ids(home.text)
        token = csrf_of(home.text)

        async def bulk(*ids: str) -> Any:
            return await c.post("/ui/incidents/bulk", data={"csrf": token, "action": "merge", "incident": list(ids),
                                                            "back": "/?urgency=high"})

        ask = await bulk(newest, second, oldest)
        assert ask.status_code == 200 and "Merge 3 incidents" in ask.text
        assert ask.text.index("Shard 0 down") < ask.text.index("Shard 3 down")  # oldest first, and chosen
        assert f'value="{oldest}" checked' in ask.text and 'href="/?urgency=high"' in ask.text
        assert third not in ask.text
        assert (await get_status(h, oldest)) == "triggered"  # asking changed nothing
        r = await bulk(newest)
        assert r.status_code == 400 and "at least two" in r.text
        merge = {"csrf": csrf_of(ask.text), "incident": [newest, second, oldest]}
        r = await c.post("/ui/incidents/merge", data={**merge, "target": third})
        assert r.status_code == 400 and "choose one of the selected" in r.text
        r = await c.post("/ui/incidents/merge", data={**merge, "target": second})
        assert r.status_code == 303
        numbers = sorted([(await _incident(h, i))["incident_number"] for i in (newest, oldest)])
        assert r.headers["location"].startswith(f"/ui/incidents/{second}?done=merged&merged=")
        shown = await c.get(r.headers["location"])
        assert f"Incidents #{numbers[0]}, #{numbers[1]} were merged into this one." in shown.text \
            or f"Incidents #{numbers[1]}, #{numbers[0]} were merged into this one." in shown.text
        r = await c.post("/ui/incidents/merge", data={**merge, "target": second})  # the others are resolved now
        assert r.status_code == 400 and "is resolved and cannot be merged" in r.text
        assert set(incident_ids((await c.get("/")).text)) == {third, second}
    for merged in (newest, oldest):
        assert (await _incident(h, merged))["status"] == "resolved"
    alerts = (await h.client.get(f"/incidents/{second}/alerts", headers=h.auth)).json()["alerts"]
    assert len(alerts) == 3


async def get_status(h: Harness, incident_id: str) -> str:
    return str((await _incident(h, incident_id))["status"])


async def test_the_list_pages_newest_first_and_the_live_refresh_keeps_the_page(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness
    monkeypatch.setattr(views, "PAGE_SIZE", 2)  # five incidents make three pages
    await set_password(h, h.seed.admin_email)
    for n in range(5):
        r = await h.send(h.event("trigger", None, summary=f"Node {n} down"))
        assert r.status_code == 202
    await h.process()  # one batch: the five share a created_at, so the numbers order them
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        pages = [await c.get(path) for path in ("/", "/?page=2", "/?page=3")]
        titles = [re.findall(r">(Node \d down)</a>", p.text) for p in pages]
        assert titles == [["Node 4 down", "Node 3 down"], ["Node 2 down", "Node 1 down"], ["Node 0 down"]]
        assert "Incidents 1 to 2 of 5" in pages[0].text and 'href="/?page=2" rel="next"' in pages[0].text
        assert "rel=\"prev\"" not in pages[0].text
        assert 'href="/" rel="prev"' in pages[1].text and 'href="/?page=3" rel="next"' in pages[1].text
        assert "Incidents 5 to 5 of 5" in pages[2].text and 'rel="next"' not in pages[2].text
        assert 'hx-get="/?page=2&amp;part=list"' in pages[1].text  # the live refresh stays on its page
        part = await c.get("/?page=2&part=list")
        assert re.findall(r">(Node \d down)</a>", part.text) == ["Node 2 down", "Node 1 down"]
        assert incident_ids((await c.get("/?page=x")).text) == incident_ids(pages[0].text)  # dropped, not an error
        assert "No incidents on this page." in (await c.get("/?page=99")).text
        filtered = await c.get("/?urgency=high&page=2")
        assert 'href="/?urgency=high" rel="prev"' in filtered.text and 'name="back" value="/?urgency=high&amp;page=2"' \
            in filtered.text


async def test_a_notifications_view_links_open_the_incident_and_the_persons_triggered_list(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    await trigger(h, "Disk full on db-7")
    await trigger(h, "Acked one")
    async with browser(h) as c:
        await sign_in(c, h.seed.admin_email)
        ids = incident_ids((await c.get("/")).text)
        acked = ids[0]  # newest first: "Acked one"
        r = await c.post(f"/ui/incidents/{acked}/acknowledge", data={"csrf": csrf_of((await c.get("/")).text)})
        assert r.status_code == 303
        base = h.tocsin.runtime.base_url
        page = await c.get(incident_url(base, ids[1]).removeprefix(base))
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "Disk full on db-7" in page.text
        listed = await c.get(triggered_list_url(base).removeprefix(base))
        assert listed.status_code == 200 and incident_ids(listed.text) == [ids[1]]  # mine, triggered only
    api = await h.client.get(f"/incidents/{ids[1]}", headers=h.auth)  # the same page the API names
    assert api.json()["incident"]["html_url"] == incident_url(base, ids[1])
