"""What the notify step sends for a batch, decided without I/O (``engine.notify_compose``)."""

from __future__ import annotations

from datetime import UTC, datetime

from tocsin.engine.notify_compose import bundle_of, compose, not_to_send
from tocsin.engine.notify_facts import BatchFacts, DueSend, PagedIncident
from tocsin.engine.notify_send import Outcome
from tocsin.notifications.bundles import LISTED_INCIDENTS
from tocsin.notifications.links import ACKNOWLEDGE, RESOLVE, verify
from tocsin.notifications.models import CANCELLED, INCIDENT, PENDING, SUPPRESSED

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


def row(nid: str, incident: str, user: str = "PU", address: str = "ann@example.com", kind: str = INCIDENT) -> DueSend:
    return DueSend(nid, kind, incident, user, "PC", "email", address, None, 0, NOW, PENDING)


def facts(*incidents: PagedIncident, assigned: dict[str, set[str]] | None = None,
          maintenance: dict[str, str] | None = None) -> BatchFacts:
    return BatchFacts(incidents={i.id: i for i in incidents},
                      assignees=assigned if assigned is not None else {i.id: {"PU"} for i in incidents},
                      services={"PS": "Database"}, maintenance=maintenance or {})


def incident(iid: str, status: str = "triggered", service: str = "PS") -> PagedIncident:
    return PagedIncident(iid, 1, f"Disk full on {iid}", status, "high", service, None)


def test_only_a_triggered_incident_still_assigned_outside_maintenance_is_paged() -> None:
    live = incident("PA")
    assert not_to_send(row("N1", "PA"), facts(live)) is None
    gone = not_to_send(row("N1", "PGONE"), facts(live))
    assert gone is not None and (gone.status, gone.error) == (CANCELLED, "not sent: the incident is gone")
    acked = not_to_send(row("N1", "PA"), facts(incident("PA", "acknowledged")))
    assert acked is not None and acked.status == CANCELLED and "acknowledged" in (acked.error or "")
    away = not_to_send(row("N1", "PA"), facts(live, assigned={"PA": {"PB"}}))
    assert away is not None and away.error == "not sent: the user is no longer assigned"
    quiet = not_to_send(row("N1", "PA"), facts(live, maintenance={"PS": "PW"}))
    assert quiet is not None and quiet.status == SUPPRESSED and "PW" in (quiet.error or "")


def test_one_persons_pages_to_one_address_go_as_one_message_and_a_broken_row_fails_alone() -> None:
    batch = facts(incident("PA"), incident("PB"))
    failed: dict[str, Outcome] = {}
    sends = compose([row("N1", "PA"), row("N2", "PB"), row("N3", "PA", address="bob@example.com"),
                     row("N4", "PMISSING", address="cy@example.com")], batch, b"s" * 32, NOW, "http://t.test", failed)
    assert [[r.id for r in s.rows] for s in sends] == [["N1", "N2"], ["N3"]]
    assert "2 triggered incidents" in sends[0].message.subject
    assert "/notification_actions/" in (sends[0].message.text or "")
    assert list(failed) == ["N4"] and "could not render" in (failed["N4"].error or "")


def test_a_storm_bundle_signs_links_only_for_the_incidents_the_email_lists() -> None:
    storm = [incident(f"P{n:03}") for n in range(LISTED_INCIDENTS + 10)]
    sends = compose([row(f"N{n:03}", i.id) for n, i in enumerate(storm)], facts(*storm), b"s" * 32, NOW,
                    "http://t.test", {})
    assert len(sends) == 1 and len(sends[0].rows) == LISTED_INCIDENTS + 10  # every row rides on the one message
    text = sends[0].message.text or ""
    # Acknowledge and resolve each listed one, and all of them at once.
    assert text.count("/notification_actions/") == 2 * LISTED_INCIDENTS + 2
    assert "And 10 more." in text


def test_a_bundle_email_carries_all_links_bound_to_its_lead_row_and_the_person() -> None:
    secret = b"s" * 32
    [send] = compose([row("N1", "PA"), row("N2", "PB")], facts(incident("PA"), incident("PB")), secret, NOW,
                     "http://t.test", {})
    lines = [line for line in (send.message.text or "").splitlines() if " all 2: " in line]
    assert [line.split(" all 2: ")[0] for line in lines] == ["Acknowledge", "Resolve"]
    claims = [verify(secret, line.rsplit("/", 1)[1], NOW) for line in lines]
    assert [(c.action, c.bundle, c.user_id) for c in claims if c is not None] == [
        (ACKNOWLEDGE, "N1", "PU"), (RESOLVE, "N1", "PU")]
    [alone] = compose([row("N3", "PA")], facts(incident("PA")), secret, NOW, "http://t.test", {})
    assert " all " not in (alone.message.text or "")  # one incident: its own links are all there is


def test_two_rules_pages_of_one_incident_are_one_ordinary_page_not_a_bundle() -> None:
    twice = [row("N1", "PA"), row("N2", "PA")]
    [send] = compose(twice, facts(incident("PA")), b"s" * 32, NOW, "http://t.test", {})
    assert [r.id for r in send.rows] == ["N1", "N2"] and send.bundle is None
    assert "triggered incidents" not in send.message.subject and " all " not in (send.message.text or "")
    assert bundle_of([row("N1", "PA"), row("N2", "PB")]) == "N1"  # two incidents: the lead row names the bundle
