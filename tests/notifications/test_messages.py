"""What notifications say: per channel, escaped, short where a channel needs it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from tocsin.notifications import messages, models
from tocsin.notifications.messages import (
    SMS_LIMIT,
    IncidentFacts,
    alert_details,
    contact_test_message,
    handoff_facts,
    handoff_message,
    incident_message,
    incident_sms,
    sms_clip,
    sms_septets,
)

BASE = "https://tocsin.example"
LINKS = {"acknowledge": f"{BASE}/notification_actions/ack.tok", "resolve": f"{BASE}/notification_actions/res.tok"}
INCIDENT = IncidentFacts(id="PINC123", number=12, title="Disk full on db-1", urgency="high", service_name="Database",
                         details=(("Source", "db-1"), ("Severity", "critical")))
# Any character GSM-7 carries (extension characters such as [ ] { } € included), as titles hold them.
GSM7 = st.sampled_from(sorted((messages._GSM7_BASIC | messages._GSM7_EXTENDED) - set("\n\r\f")))


def test_channel_names_agree_with_the_models() -> None:
    assert (messages.EMAIL, messages.SMS, messages.PHONE) == (models.EMAIL, models.SMS, models.PHONE)


def test_an_incident_email_has_everything_a_responder_needs() -> None:
    message = incident_message("PNOTE", "email", "a@example.com", INCIDENT, base_url=BASE, links=LINKS)
    assert message.subject == "[Tocsin] Incident #12 (high urgency): Disk full on db-1"
    for part in (message.text, message.html or ""):
        assert "Disk full on db-1" in part and "Database" in part and "#12" in part
        assert f"{BASE}/ui/incidents/PINC123" in part
        assert LINKS["acknowledge"] in part and LINKS["resolve"] in part
        assert "db-1" in part and "critical" in part
    assert message.actions == LINKS
    assert (message.notification_id, message.channel, message.address) == ("PNOTE", "email", "a@example.com")


def test_an_incident_sms_is_one_short_line() -> None:
    message = incident_message("PNOTE", "sms", "+1555", INCIDENT, base_url=BASE, links=LINKS)
    assert message.text == "[Tocsin] #12 high: Disk full on db-1 - Reply 4 ack, 6 resolve"
    assert message.html is None


def test_a_call_reads_the_incident_and_offers_the_keys_only_with_a_callback() -> None:
    with_keys = incident_message("PNOTE", "phone", "+1555", INCIDENT, base_url=BASE, links=LINKS,
                                 voice_callback_url=f"{BASE}/notification_actions/voice.tok")
    assert "number 12" in with_keys.text and "Database" in with_keys.text and "Disk full on db-1" in with_keys.text
    assert with_keys.text.endswith("Press 4 to acknowledge, 6 to resolve.")
    assert with_keys.voice_callback_url == f"{BASE}/notification_actions/voice.tok"
    without = incident_message("PNOTE", "phone", "+1555", INCIDENT, base_url=BASE, links={})
    assert "Press 4" not in without.text


def test_missing_links_are_left_out() -> None:
    message = incident_message("PNOTE", "email", "a@example.com", INCIDENT, base_url=BASE, links={})
    assert "Acknowledge:" not in message.text and "notification_actions" not in (message.html or "")
    assert f"{BASE}/ui/incidents/PINC123" in message.text


def test_alert_details_pick_the_readable_fields_and_clip_the_rest() -> None:
    details = alert_details({"summary": "x", "source": "web-1", "severity": "error", "component": "",
                             "custom_details": {"cpu": 97, "note": "a\nb", "long": "z" * 1000,
                                                **{f"k{i}": i for i in range(40)}}})
    assert details[:2] == (("Source", "web-1"), ("Severity", "error"))
    named = dict(details[2:])
    assert named["cpu"] == "97" and named["note"] == "a b"
    assert len(named["long"]) == messages.DETAIL_VALUE_LIMIT and named["long"].endswith("...")
    assert len(details) == 2 + messages.DETAIL_LIMIT
    assert alert_details({"custom_details": "plain text"}) == (("Details", "plain text"),)
    assert alert_details({}) == ()


def test_a_handoff_says_whose_shift_starts_when_in_their_zone() -> None:
    facts = handoff_facts({"event": "start", "at": "2026-12-07T08:00:00+00:00", "policy": "Ops",
                           "schedule": "Primary", "time_zone": "Europe/Berlin"})
    message = handoff_message("PNOTE", "email", "a@example.com", facts, base_url=BASE)
    assert message.subject == "[Tocsin] Your on-call shift starts: Ops"
    assert "Your on-call shift for Ops (schedule Primary) starts at 2026-12-07 09:00 (Europe/Berlin)." in message.text
    ends = handoff_message("PNOTE", "sms", "+1", handoff_facts({"event": "end", "at": "2026-12-07T08:00:00Z",
                                                                 "policy": "Ops", "time_zone": "Nowhere/Atlantis"}),
                           base_url=BASE)
    assert ends.text == "[Tocsin] Your on-call shift for Ops ends at 2026-12-07 08:00 (UTC)."


def test_sms_length_counts_septets() -> None:
    assert sms_septets("abc") == 3 and sms_septets("[x]") == 5 and sms_septets("€") == 2
    assert sms_septets("日本") is None
    assert sms_septets(sms_clip("[" * 200)) == SMS_LIMIT - 1  # 78 brackets and "..."
    assert len(sms_clip("日" * 200)) == SMS_LIMIT and sms_clip("short") == "short"


def test_a_short_title_is_kept_whole() -> None:
    assert incident_sms(3, "low", "[db] {x}") == "[Tocsin] #3 low: [db] {x} - Reply 4 ack, 6 resolve"


def test_a_handoff_without_a_zone_in_its_time_is_read_as_utc() -> None:
    facts = handoff_facts({"at": "2026-12-07T08:00:00", "policy": "Ops"})
    assert facts.at == datetime(2026, 12, 7, 8, tzinfo=UTC) and facts.starts


# --- properties --------------------------------------------------------------------------------

@given(title=st.text(GSM7, max_size=500), number=st.integers(min_value=1, max_value=10**9),
       urgency=st.sampled_from(["high", "low"]))
def test_an_incident_sms_in_gsm7_fits_one_segment(title: str, number: int, urgency: str) -> None:
    text = incident_sms(number, urgency, title)
    septets = sms_septets(text)
    assert septets is not None and septets <= SMS_LIMIT
    whole = f"[Tocsin] #{number} {urgency}: {messages.one_line(title)} - Reply 4 ack, 6 resolve"
    if (sms_septets(whole) or 0) <= SMS_LIMIT:
        assert text == whole  # a title that fits is never clipped
    else:
        assert "... - Reply" in text
    assert text.startswith(f"[Tocsin] #{number} {urgency}: ")
    assert text.endswith(" - Reply 4 ack, 6 resolve")
    assert "\n" not in text


@given(st.text(max_size=2000))
def test_any_title_keeps_an_sms_within_160_characters_and_one_line(title: str) -> None:
    text = incident_sms(12, "high", title)
    assert len(text) <= SMS_LIMIT and "\n" not in text and "\r" not in text


@given(label=st.one_of(st.none(), st.text(max_size=300)), channel=st.sampled_from(["email", "sms", "phone"]))
def test_a_test_message_always_starts_with_the_test_marker(label: str | None, channel: str) -> None:
    message = contact_test_message("PNOTE", channel, "addr", label=label)
    assert message.text.startswith("[Test message]")
    assert message.subject.startswith("[Test message]")
    if channel == "sms":
        assert (sms_septets(message.text) or len(message.text)) <= SMS_LIMIT
    if channel == "email":
        assert message.html is not None and "[Test message]" in message.html


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


ALLOWED_TAGS = {"html", "body", "p", "strong", "h2", "table", "tr", "th", "td", "a"}


@given(title=st.text(min_size=1, max_size=200), service=st.text(max_size=100),
       detail=st.tuples(st.text(max_size=50), st.text(max_size=200)))
def test_html_escapes_every_value(title: str, service: str, detail: tuple[str, str]) -> None:
    incident = IncidentFacts(id="PINC", number=7, title=title, urgency="low", service_name=service, details=(detail,))
    links = {"acknowledge": f'{BASE}/a?x="><script>', "resolve": f"{BASE}/r"}
    message = incident_message("PNOTE", "email", "a@example.com", incident, base_url=BASE, links=links)
    assert message.html is not None
    parsed = _Collect()
    parsed.feed(message.html)
    # Whatever the values hold, the markup is ours alone: no tag or attribute comes from them.
    assert set(parsed.tags) <= ALLOWED_TAGS
    assert links["acknowledge"] in parsed.hrefs and f"{BASE}/ui/incidents/PINC" in parsed.hrefs
    shown = "".join(parsed.text)
    assert messages.one_line(title) in shown or messages.one_line(title) == ""


@given(st.text(max_size=400))
def test_the_subject_is_one_bounded_line(title: str) -> None:
    incident = IncidentFacts(id="PINC", number=7, title=title, urgency="high", service_name="S")
    message = incident_message("PNOTE", "email", "a@example.com", incident, base_url=BASE, links={})
    assert not re.search(r"[\r\n]", message.subject)
    assert len(message.subject) <= messages.SUBJECT_TITLE_LIMIT + 40


@given(st.text())
def test_one_line_takes_its_shortcut_only_where_the_full_rule_changes_nothing(text: str) -> None:
    full = messages._ONE_LINE.sub(" ", messages._CONTROL.sub("", text)).strip()
    assert messages.one_line(text) == full
