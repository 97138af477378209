"""The integration's tests: it sends events as it would to PagerDuty; the tests assert on what
Tocsin saw (incidents, alerts, the requests it received, the notifications it "sent")."""

from __future__ import annotations

import threading

import pytest
from incident_reporter import EventRejected, IncidentReporter


def broken_job() -> None:
    raise ConnectionError("database unreachable")


def test_a_failure_opens_an_incident_and_recovery_resolves_it(pagerduty, reporter, rest):
    with pytest.raises(ConnectionError):
        reporter.run("nightly-invoices", broken_job)

    incident = pagerduty.next_incident_sync("billing-1/nightly-invoices")
    assert incident["title"] == "nightly-invoices failing on billing-1: database unreachable"
    assert incident["status"] == "triggered"
    [alert] = rest.list_all(f"incidents/{incident['id']}/alerts")
    assert alert["body"]["details"] == {"check": "nightly-invoices",
                                        "error": "ConnectionError('database unreachable')"}

    assert reporter.run("nightly-invoices", lambda: "ok") == "ok"
    # Events are processed after the 202, as on PagerDuty: settle() waits until Tocsin has.
    pagerduty.settle()
    assert rest.rget(f"incidents/{incident['id']}")["status"] == "resolved"


def test_repeated_failures_stay_one_incident(pagerduty, reporter):
    for _ in range(3):
        reporter.failed("disk-space", "97% used", severity="warning")
    [incident] = pagerduty.incidents()  # what Tocsin made of every event accepted so far
    assert (incident["incident_key"], incident["alert_counts"]["all"]) == ("billing-1/disk-space", 1)
    assert [r.status for r in pagerduty.requests("events")] == [202, 202, 202]


def test_an_unanswered_page_escalates_to_the_next_level(pagerduty, reporter):
    reporter.failed("payments-api", "HTTP 503")
    incident = pagerduty.next_incident_sync("billing-1/payments-api")
    assert [n.to for n in pagerduty.notifications()] == ["admin@example.com"]

    pagerduty.advance(minutes=30)  # nobody acknowledged: level 2 of the escalation policy
    paged = pagerduty.notifications(incident_id=incident["id"])
    assert [(n.channel, n.to) for n in paged] == [("email", "admin@example.com"),
                                                  ("email", "responder@example.com")]


async def test_a_failure_reported_from_another_thread(pagerduty, reporter):
    worker = threading.Thread(target=lambda: reporter.failed("queue-consumer", "stuck for 10 minutes"))
    worker.start()
    incident = await pagerduty.next_incident("billing-1/queue-consumer", timeout=5)
    worker.join()
    assert incident["urgency"] == "high"


def test_a_wrong_routing_key_is_refused_and_says_why(pagerduty):
    wrong = IncidentReporter("R0000000000000000000000000000000", events_url=pagerduty.events_url)
    with pytest.raises(EventRejected) as refused:
        wrong.failed("anything", "boom")
    assert refused.value.status == 400
    [seen] = pagerduty.requests("events")
    assert not seen.accepted and seen.errors == refused.value.errors
