from __future__ import annotations

from tests.conftest import Harness
from tests.helpers import assert_error


async def test_trigger_opens_incident_and_ack_resolve_events_close_it(harness: Harness) -> None:
    r = await harness.send(harness.event(dedup_key="disk/1", severity="warning"))
    assert r.status_code == 202 and r.json()["dedup_key"] == "disk/1"
    assert await harness.process() == 1
    listed = (await harness.client.get("/incidents", headers=harness.auth)).json()["incidents"]
    assert [(i["status"], i["incident_key"], i["incident_number"]) for i in listed] == [("triggered", "disk/1", 1)]
    await harness.send(harness.event("acknowledge", "disk/1"))
    await harness.send(harness.event("resolve", "disk/1"))
    await harness.process()
    incident = (await harness.client.get(f"/incidents/{listed[0]['id']}", headers=harness.auth)).json()["incident"]
    assert incident["status"] == "resolved"
    log = (await harness.client.get(f"/incidents/{incident['id']}/log_entries", headers=harness.auth)).json()
    assert [e["type"] for e in log["log_entries"]] == ["resolve_log_entry", "acknowledge_log_entry", "assign_log_entry",
                                                       "trigger_log_entry"]


async def test_openapi_document_covers_rest_and_events_api(harness: Harness) -> None:
    doc = (await harness.client.get("/openapi.json")).json()
    for path in ("/incidents", "/services/{service_id}/integrations", "/v2/enqueue",
                 "/v2/change/enqueue", "/generic/2010-04-15/create_event.json"):
        assert path in doc["paths"], path
    docs = await harness.client.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


async def test_a_trailing_slash_is_a_pagerduty_404_not_a_redirect(harness: Harness) -> None:
    answer = await harness.client.get("/incidents/", headers=harness.auth)
    assert_error(answer, 404, 2100)
