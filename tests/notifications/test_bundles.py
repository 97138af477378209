"""One message for several incidents (pure): tocsin.notifications.bundles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.notifications.bundles import LISTED_INCIDENTS, SPOKEN_TITLES, bundle_message, bundle_sms
from tocsin.notifications.messages import ACKNOWLEDGE, RESOLVE, SMS_LIMIT, IncidentFacts, sms_septets

BASE = "https://tocsin.example"


def facts(n: int, *, service: str = "Checkout", title: str | None = None) -> IncidentFacts:
    return IncidentFacts(id=f"PINC{n}", number=100 + n, title=title or f"Disk full on db-{n}", urgency="high",
                         service_name=service)


def links(*incidents: IncidentFacts) -> dict[str, dict[str, str]]:
    return {i.id: {ACKNOWLEDGE: f"{BASE}/notification_actions/ack-{i.id}",
                   RESOLVE: f"{BASE}/notification_actions/res-{i.id}"} for i in incidents}


def test_an_email_lists_every_incident_with_its_own_links() -> None:
    three = [facts(1), facts(2, title="<script>alert(1)</script>"), facts(3, service="Search")]
    message = bundle_message("PLEAD", "email", "ada@example.com", three, base_url=BASE, links=links(*three))
    assert message.notification_id == "PLEAD" and message.address == "ada@example.com"
    assert message.subject == "[Tocsin] You have 3 triggered incidents: Disk full on db-1 and more"
    for incident in three:
        for text in (message.text, message.html or ""):
            assert f"{BASE}/ui/incidents/{incident.id}" in text
            assert f"ack-{incident.id}" in text and f"res-{incident.id}" in text
    assert "#102 on Checkout" in message.text and "3) Incident #103 on Search" in message.text
    assert "<script>" not in (message.html or "") and "&lt;script&gt;" in (message.html or "")


def test_an_sms_names_the_incidents_and_one_answer_for_all() -> None:
    text = bundle_sms([facts(1), facts(2), facts(3)])
    assert text == "[Tocsin] 3 incidents: #101, #102, #103 on Checkout - Reply 4 ack all, 6 resolve all"
    mixed = bundle_sms([facts(1), facts(2, service="Search")])
    assert mixed == "[Tocsin] 2 incidents: #101, #102 - Reply 4 ack all, 6 resolve all"  # no single service


@given(st.integers(2, 400), st.text(st.characters(blacklist_characters="#"), max_size=60))
def test_an_sms_always_fits_one_segment_and_counts_what_it_leaves_out(count: int, service: str) -> None:
    incidents = [facts(n, service=service) for n in range(count)]
    text = bundle_sms(incidents)
    septets = sms_septets(text)
    assert septets is not None and septets <= SMS_LIMIT  # GSM-7, one segment
    listed = text.count("#")
    assert listed >= 1
    if listed < count:
        assert f"+{count - listed} more" in text


def test_a_call_reads_a_few_titles_and_counts_the_rest() -> None:
    many = [facts(n) for n in range(SPOKEN_TITLES + 2)]
    message = bundle_message("PLEAD", "phone", "+15555550100", many, base_url=BASE, links={},
                             voice_callback_url=f"{BASE}/twilio/voice/tok")
    assert message.text.startswith(f"This is Tocsin. You have {len(many)} triggered incidents.")
    assert "And 2 more." in message.text and "Press 4 to acknowledge all of them" in message.text
    assert message.voice_callback_url == f"{BASE}/twilio/voice/tok"
    silent = bundle_message("PLEAD", "phone", "+15555550100", many, base_url=BASE, links={})
    assert "Press" not in silent.text  # nowhere to send a key press: no promise of one


def test_a_bundle_needs_two_incidents() -> None:
    with pytest.raises(ValueError, match="at least two"):
        bundle_message("PLEAD", "email", "ada@example.com", [facts(1)], base_url=BASE, links={})


def test_an_email_of_a_storm_lists_the_first_ones_and_links_to_the_rest() -> None:
    many = [facts(n) for n in range(1, LISTED_INCIDENTS + 6)]
    message = bundle_message("PLEAD", "email", "ada@example.com", many, base_url=BASE, links=links(*many))
    assert message.subject.startswith(f"[Tocsin] You have {LISTED_INCIDENTS + 5} triggered incidents:")
    everyone = f"{BASE}/?mine=1&status=triggered"
    for text in (message.text, message.html or ""):
        for incident in many[:LISTED_INCIDENTS]:
            assert f"ack-{incident.id}" in text and f"{BASE}/ui/incidents/{incident.id}" in text
        for incident in many[LISTED_INCIDENTS:]:
            assert incident.id not in text
        assert "5 more" in text
    assert f"And 5 more. All your triggered incidents: {everyone}" in message.text
    assert f'<a href="{everyone.replace("&", "&amp;")}">all your triggered incidents</a>' in (message.html or "")


def test_an_email_listing_everyone_has_no_more_line() -> None:
    exact = [facts(n) for n in range(1, LISTED_INCIDENTS + 1)]
    message = bundle_message("PLEAD", "email", "ada@example.com", exact, base_url=BASE, links=links(*exact))
    assert "more" not in message.text.split("You get this")[0].replace("and more", "")
    assert "mine=1" not in message.text and "mine=1" not in (message.html or "")


def test_an_email_offers_acknowledge_and_resolve_all_above_the_list() -> None:
    many = [facts(n) for n in range(1, LISTED_INCIDENTS + 3)]
    every = {ACKNOWLEDGE: f"{BASE}/notification_actions/ack-all", RESOLVE: f"{BASE}/notification_actions/res-all"}
    message = bundle_message("PLEAD", "email", "ada@example.com", many, base_url=BASE, links=links(*many),
                             all_links=every)
    count = LISTED_INCIDENTS + 2
    assert f"Acknowledge all {count}: {BASE}/notification_actions/ack-all" in message.text
    assert f"Resolve all {count}: {BASE}/notification_actions/res-all" in message.text
    assert message.text.index("ack-all") < message.text.index("1) Incident")  # above the list
    html = message.html or ""
    assert f'href="{BASE}/notification_actions/ack-all"' in html and f"Acknowledge all {count}</a>" in html
    sms = bundle_message("PLEAD", "sms", "+15555550100", many, base_url=BASE, links={}, all_links=every)
    assert "ack-all" not in sms.text  # a reply acts on all already
