"""Tocsin driven only through the official PyPI ``pagerduty`` client, over real TLS.

Each test runs against a real server process twice (SQLite, then PostgreSQL); see conftest.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pagerduty
import pytest

from tests.e2e.conftest import TlsServer
from tests.e2e.helpers import answer, default_policy, incidents_with_key, unique, wait_for, wait_for_incident

pytestmark = pytest.mark.e2e


# --------------------------------------------------------------------------- Events API v2


class TestEventsApiV2:
    def test_trigger_acknowledge_resolve_lifecycle(
        self, tls_server: TlsServer, events: pagerduty.EventsApiV2Client, rest: pagerduty.RestApiV2Client
    ) -> None:
        key = unique("lifecycle")
        details = {"disk": "/var", "used_pct": 97, "nested": {"host": "db-1"}}
        returned = events.trigger(
            "Disk almost full on db-1", "db-1", dedup_key=key, severity="warning", custom_details=details
        )
        assert returned == key

        incident = wait_for_incident(rest, key, status="triggered")
        assert incident["title"] == "Disk almost full on db-1"
        assert incident["incident_key"] == key
        assert incident["service"]["id"] == tls_server.service_id
        assert incident["self"] == f"{tls_server.url}/incidents/{incident['id']}"

        alerts = rest.list_all(f"/incidents/{incident['id']}/alerts")
        assert len(alerts) == 1
        alert = alerts[0]
        assert alert["alert_key"] == key
        assert alert["severity"] == "warning"
        assert alert["status"] == "triggered"
        assert alert["body"]["details"] == details

        assert events.acknowledge(key) == key
        acked = wait_for_incident(rest, key, status="acknowledged")
        assert acked["id"] == incident["id"]

        assert events.resolve(key) == key
        resolved = wait_for_incident(rest, key, status="resolved")
        assert resolved["id"] == incident["id"]
        assert resolved["resolved_at"] is not None

        entry_types = {e["type"] for e in rest.list_all(f"/incidents/{incident['id']}/log_entries")}
        assert {"trigger_log_entry", "acknowledge_log_entry", "resolve_log_entry"} <= entry_types

    def test_trigger_without_dedup_key_generates_the_incident_key(
        self, events: pagerduty.EventsApiV2Client, rest: pagerduty.RestApiV2Client
    ) -> None:
        generated = events.trigger(unique("no dedup key"), "generator-1")
        assert generated
        incident = wait_for_incident(rest, generated, status="triggered")
        assert incident["incident_key"] == generated

        # A second key-less trigger opens a separate incident with a different key.
        other = events.trigger(unique("no dedup key"), "generator-1")
        assert other != generated
        assert wait_for_incident(rest, other)["id"] != incident["id"]

    def test_repeated_trigger_with_same_dedup_key_adds_no_incident(
        self, events: pagerduty.EventsApiV2Client, rest: pagerduty.RestApiV2Client
    ) -> None:
        key = unique("dedup")
        events.trigger("Queue backlog growing", "worker-3", dedup_key=key)
        incident = wait_for_incident(rest, key)
        events.trigger("Queue backlog growing", "worker-3", dedup_key=key)
        # Events are processed in order, so once the later acknowledge shows, the repeat is done.
        events.acknowledge(key)
        wait_for_incident(rest, key, status="acknowledged")
        # Everything for this key is one incident with one alert.
        assert [i["id"] for i in incidents_with_key(rest, key)] == [incident["id"]]
        assert len(rest.list_all(f"/incidents/{incident['id']}/alerts")) == 1

    def test_unknown_routing_key_is_an_http_error(self, tls_server: TlsServer) -> None:
        stranger = tls_server.events("0" * 32)
        with pytest.raises(pagerduty.HttpError) as caught:
            stranger.trigger("Nobody listens", "nowhere")
        assert answer(caught.value).status_code == 400
        assert "Invalid routing key" in answer(caught.value).text

    def test_send_change_event(
        self, tls_server: TlsServer, events: pagerduty.EventsApiV2Client, rest: pagerduty.RestApiV2Client
    ) -> None:
        summary = unique("Deployed build")
        timestamp = datetime.now(UTC).replace(microsecond=0).isoformat()
        events.send_change_event(
            payload={"summary": summary, "source": "ci-runner-7", "timestamp": timestamp,
                     "custom_details": {"build": 1234, "commit": "abc123"}},
            links=[{"href": "https://ci.example.com/builds/1234", "text": "Build 1234"}],
        )
        found = wait_for(
            lambda: [c for c in rest.list_all("change_events") if c["summary"] == summary],
            lambda items: len(items) == 1,
            f"change event {summary!r}",
        )
        change = found[0]
        assert change["source"] == "ci-runner-7"
        assert change["custom_details"] == {"build": 1234, "commit": "abc123"}
        assert change["links"] == [{"href": "https://ci.example.com/builds/1234", "text": "Build 1234"}]
        assert [s["id"] for s in change["services"]] == [tls_server.service_id]
        assert rest.rget(f"/change_events/{change['id']}")["summary"] == summary

    def test_submit_change_event_with_generated_timestamp(
        self, events: pagerduty.EventsApiV2Client, rest: pagerduty.RestApiV2Client
    ) -> None:
        """``submit()`` stamps the event itself via ``EventsApiV2Client.event_timestamp``.

        In pagerduty 7.2.0 that property is ``datetime.now(tz=datetime.timezone.utc)``
        with ``datetime`` the class, which has no ``timezone`` attribute: it raises
        AttributeError before any request is made. That is a client bug, not Tocsin's; the part
        is skipped with that reason until a fixed client is installed, and then runs for real.
        """
        summary = unique("Config change")
        try:
            events.submit(summary, source="puppet", custom_details={"file": "/etc/app.conf"})
        except AttributeError as exc:
            if "timezone" not in str(exc):
                raise
            pytest.skip(f"pagerduty {pagerduty.__version__} EventsApiV2Client.submit() crashes in its own "
                        f"event_timestamp property ({exc}); use send_change_event() with a timestamp instead")
        found = wait_for(
            lambda: [c for c in rest.list_all("change_events") if c["summary"] == summary],
            lambda items: len(items) == 1,
            f"change event {summary!r}",
        )
        assert found[0]["source"] == "puppet"


# --------------------------------------------------------------------------- REST API v2


@pytest.fixture(scope="module")
def paging_service(tls_server: TlsServer, rest: pagerduty.RestApiV2Client) -> dict[str, Any]:
    """A fresh service with 30 incidents (keys ``page-NN``), made through the official clients."""
    service = rest.rpost("/services", json={"service": {"name": unique("Paging Service"), "description": "e2e",
                                                        "escalation_policy": default_policy(rest)}})
    integration = rest.rpost(
        f"/services/{service['id']}/integrations",
        json={"integration": {"type": "events_api_v2_inbound_integration", "name": "paging"}},
    )
    sender = tls_server.events(integration["integration_key"])
    prefix = unique("page")
    keys = [f"{prefix}-{n:02d}" for n in range(30)]
    for n, key in enumerate(keys):
        assert sender.trigger(f"Paging incident {n}", "pager-host", dedup_key=key) == key
    wait_for(
        lambda: rest.list_all("incidents", params={"service_ids": [service["id"]], "date_range": "all"}),
        lambda items: len(items) == 30,
        "30 incidents on the paging service",
    )
    return {"service": service, "keys": keys}


class TestRestApiV2:
    def test_list_all_walks_several_pages(
        self, rest: pagerduty.RestApiV2Client, paging_service: dict[str, Any]
    ) -> None:
        before = rest.api_call_counts.get("GET /incidents", 0)
        items = rest.list_all("incidents", params={"date_range": "all"}, page_size=10)
        pages = rest.api_call_counts["GET /incidents"] - before
        assert pages >= 3, f"30+ incidents at 10 per page must take at least 3 requests, took {pages}"
        ids = [i["id"] for i in items]
        assert len(ids) == len(set(ids)), "an incident was listed on two pages"
        keys = {i["incident_key"] for i in items}
        assert set(paging_service["keys"]) <= keys

    def test_iter_all_pages_exactly_through_one_service(
        self, rest: pagerduty.RestApiV2Client, paging_service: dict[str, Any]
    ) -> None:
        seen: list[tuple[int, Any]] = []
        before = rest.api_call_counts.get("GET /incidents", 0)
        items = list(rest.iter_all(
            "incidents", params={"service_ids": [paging_service["service"]["id"]], "date_range": "all"},
            page_size=10, total=True, item_hook=lambda item, n, total: seen.append((n, total)),
        ))
        assert rest.api_call_counts["GET /incidents"] - before == 3
        assert sorted(i["incident_key"] for i in items) == sorted(paging_service["keys"])
        assert [n for n, _ in seen] == list(range(1, 31))
        assert {total for _, total in seen} == {30}
        assert {i["service"]["id"] for i in items} == {paging_service["service"]["id"]}

    def test_rget_and_jget_one_incident(
        self, events: pagerduty.EventsApiV2Client, rest: pagerduty.RestApiV2Client
    ) -> None:
        key = unique("rget")
        events.trigger("Latency above SLO", "api-gw", dedup_key=key)
        listed = wait_for_incident(rest, key)

        fetched = rest.rget(f"/incidents/{listed['id']}")
        assert fetched["id"] == listed["id"]
        assert fetched["type"] == "incident"
        assert fetched["incident_key"] == key
        assert fetched["status"] == "triggered"
        assert fetched["incident_number"] == listed["incident_number"]

        raw = rest.jget(f"/incidents/{listed['id']}")
        assert raw["incident"]["id"] == listed["id"]
        # The ``self`` link is a URL the client accepts in place of a path.
        assert rest.rget(fetched)["id"] == listed["id"]

    def test_acknowledge_and_resolve_with_rput(
        self, tls_server: TlsServer, events: pagerduty.EventsApiV2Client, rest: pagerduty.RestApiV2Client
    ) -> None:
        key = unique("rput")
        events.trigger("Error rate spike", "checkout", dedup_key=key)
        incident = wait_for_incident(rest, key, status="triggered")
        path = f"/incidents/{incident['id']}"

        acked = rest.rput(path, json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
        assert acked["id"] == incident["id"]
        assert acked["status"] == "acknowledged"
        assert rest.rget(path)["status"] == "acknowledged"
        assert acked["last_status_change_by"]["type"] == "user_reference"

        # Unwrapped body and the incident dict itself (its ``self`` URL) work too.
        resolved = rest.rput(acked, json={"type": "incident_reference", "status": "resolved"})
        assert resolved["status"] == "resolved"
        assert rest.rget(path)["status"] == "resolved"

        entries = rest.list_all(f"{path}/log_entries")
        by_type = {e["type"]: e for e in entries}
        assert "acknowledge_log_entry" in by_type and "resolve_log_entry" in by_type
        assert by_type["resolve_log_entry"]["agent"]["type"] == "user_reference"

    def test_find_demo_service(self, tls_server: TlsServer, rest: pagerduty.RestApiV2Client) -> None:
        demo = rest.find("services", "Demo Service")
        assert demo is not None
        assert demo["id"] == tls_server.service_id
        assert demo["name"] == "Demo Service"
        found = rest.find("services", "demo service")  # case-insensitive, as PagerDuty's client matches
        assert found is not None and found["id"] == tls_server.service_id
        assert rest.find("services", unique("No Such Service")) is None

    def test_create_service_and_integration_then_send_an_event(
        self, tls_server: TlsServer, rest: pagerduty.RestApiV2Client
    ) -> None:
        name = unique("E2E Service")
        service = rest.rpost("/services", json={"service": {"name": name, "description": "made by e2e",
                                                            "escalation_policy": default_policy(rest)}})
        assert service["name"] == name
        assert service["type"] == "service"
        assert service["id"]

        integration = rest.rpost(
            f"/services/{service['id']}/integrations",
            json={"integration": {"type": "events_api_v2_inbound_integration"}},
        )
        routing_key = integration["integration_key"]
        assert isinstance(routing_key, str) and len(routing_key) == 32
        assert integration["service"]["id"] == service["id"]

        refreshed = rest.rget(f"/services/{service['id']}")
        assert [i["id"] for i in refreshed["integrations"]] == [integration["id"]]
        found = rest.find("services", name)
        assert found is not None and found["id"] == service["id"]

        key = unique("new-service")
        assert tls_server.events(routing_key).trigger("First alert", "new-host", dedup_key=key) == key
        incident = wait_for_incident(rest, key, status="triggered")
        assert incident["service"]["id"] == service["id"]
        assert incident["service"]["summary"] == name

    def test_bad_api_key_raises_http_error_401(self, tls_server: TlsServer) -> None:
        intruder = tls_server.rest("x" * 20)
        with pytest.raises(pagerduty.HttpError) as caught:
            intruder.rget("/incidents/PABC123")
        assert answer(caught.value).status_code == 401
        with pytest.raises(pagerduty.HttpError) as caught:
            intruder.list_all("incidents")
        assert answer(caught.value).status_code == 401

    def test_unknown_incident_raises_http_error_404(self, rest: pagerduty.RestApiV2Client) -> None:
        with pytest.raises(pagerduty.HttpError) as caught:
            rest.rget("/incidents/PNOSUCH0000000")
        assert not isinstance(caught.value, pagerduty.ServerHttpError)
        assert answer(caught.value).status_code == 404
        with pytest.raises(pagerduty.HttpError) as caught:
            rest.rput("/incidents/PNOSUCH0000000",
                      json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
        assert answer(caught.value).status_code == 404
