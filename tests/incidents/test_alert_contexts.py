"""An alert's ``body.contexts``: the Events API's links and images, each with its ``type``
(PagerDuty's ``Context`` schema requires it), checked against PagerDuty's alert schema."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness
from tests.contract import assert_conforms
from tocsin.incidents.contexts import alert_contexts

LINK = {"href": "https://grafana.example/d/cpu", "text": "CPU graph"}
IMAGE = {"src": "https://grafana.example/cpu.png", "href": "https://grafana.example/d/cpu", "alt": "CPU"}


def test_links_then_images_each_typed() -> None:
    assert alert_contexts([LINK, {"href": "https://x.example"}], [IMAGE, {"src": "https://y.example/a.png"}]) == [
        {"type": "link", "href": "https://grafana.example/d/cpu", "text": "CPU graph"},
        {"type": "link", "href": "https://x.example"},
        {"type": "image", "src": "https://grafana.example/cpu.png", "href": "https://grafana.example/d/cpu",
         "alt": "CPU", "text": "CPU"},
        {"type": "image", "src": "https://y.example/a.png"},
    ]


def test_stored_oddities_are_left_out_not_fatal() -> None:
    assert alert_contexts(None, None) == []
    assert alert_contexts("not a list", {"src": "x"}) == []
    assert alert_contexts([5, {"text": "no href"}, {"href": 7}], [["x"], {"alt": "no src"}]) == []


async def _alerts(
    h: Harness, body: dict[str, Any], path: str = "/v2/enqueue", accepted: int = 202,
) -> list[dict[str, Any]]:
    r = await h.send(body, path)
    assert r.status_code == accepted and r.json()["status"] == "success", r.text
    await h.process()
    incident = (await h.client.get("/incidents", headers=h.auth)).json()["incidents"][0]
    r = await h.client.get(f"/incidents/{incident['id']}/alerts", headers=h.auth)
    assert_conforms(r, "GET", "/incidents/{id}/alerts", 200)
    alerts: list[dict[str, Any]] = r.json()["alerts"]
    one = await h.client.get(f"/incidents/{incident['id']}/alerts/{alerts[0]['id']}", headers=h.auth)
    assert_conforms(one, "GET", "/incidents/{id}/alerts/{alert_id}", 200)
    assert one.json()["alert"]["body"]["contexts"] == alerts[0]["body"]["contexts"]
    return alerts


async def test_v2_links_and_images_become_typed_contexts(harness: Harness) -> None:
    body = harness.event()
    body.update(links=[LINK], images=[IMAGE])
    [alert] = await _alerts(harness, body)
    assert alert["body"]["contexts"] == [
        {"type": "link", **LINK},
        {"type": "image", **IMAGE, "text": "CPU"},
    ]


async def test_v1_contexts_keep_their_type(harness: Harness) -> None:
    body = {"service_key": harness.routing_key, "event_type": "trigger", "description": "Disk full",
            "contexts": [{"type": "link", **LINK}, {"type": "image", **IMAGE}]}
    [alert] = await _alerts(harness, body, "/generic/2010-04-15/create_event.json", accepted=200)
    assert [c["type"] for c in alert["body"]["contexts"]] == ["link", "image"]
    assert alert["body"]["contexts"][1]["src"] == IMAGE["src"]
