"""The email composer (pure): what a mail reader gets out of its bytes is what the email package
(the composer it replaced) gives for the same message."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.notifications.channel import Message
from tocsin.notifications.mime import LINE, MAX_LINE, compose, envelope_address, header, parse_sender

SENDER = parse_sender("Tocsin <tocsin@alerts.example.com>")
DATE = "Sat, 05 Dec 2026 03:00:00 +0000"
BOUNDARY = "=_tocsin_0123456789abcdef01234567"


def mail(subject: str = "[Tocsin] Incident #1 (high urgency): Disk full", text: str = "Disk full\n",
         html: str | None = "<p>Disk full</p>", address: str = "oncall@example.com") -> Message:
    return Message(notification_id="PNOTE1", channel="email", address=address, subject=subject, text=text, html=html)


def parsed(message: Message) -> EmailMessage:
    data = compose(message, SENDER, date=DATE, message_id="<PNOTE1@alerts.example.com>", boundary=BOUNDARY).data
    found = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(found, EmailMessage)
    return found


def reference(message: Message) -> EmailMessage:
    """The same message made the way the channel made it before (and read back the same way)."""
    made = EmailMessage()
    made["From"], made["To"], made["Subject"] = SENDER.value, message.address, message.subject
    made.set_content(message.text)
    if message.html is not None:
        made.add_alternative(message.html, subtype="html")
    found = email.message_from_bytes(made.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    assert isinstance(found, EmailMessage)
    return found


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def test_the_headers_and_both_parts() -> None:
    got = parsed(mail())
    assert got["From"] == "Tocsin <tocsin@alerts.example.com>" and got["To"] == "oncall@example.com"
    assert got["Subject"] == "[Tocsin] Incident #1 (high urgency): Disk full"
    assert (got["Date"], got["Message-ID"]) == (DATE, "<PNOTE1@alerts.example.com>")
    assert got["Auto-Submitted"] == "auto-generated" and got["MIME-Version"] == "1.0"
    assert got.get_content_type() == "multipart/alternative" and got.defects == []
    assert body(got, "plain") == "Disk full\n" and body(got, "html") == "<p>Disk full</p>\n"


def test_text_only_is_one_part() -> None:
    got = parsed(mail(html=None))
    assert got.get_content_type() == "text/plain" and body(got, "plain") == "Disk full\n"


def test_ascii_within_the_line_limit_is_sent_as_it_is_anything_else_quoted_printable() -> None:
    link = "Acknowledge: https://tocsin.example.com/a/" + "x" * 300
    data = compose(mail(text=link, html="<p>Müll</p>"), SENDER, date=DATE, message_id="<x@y>",
                   boundary=BOUNDARY).data.decode("ascii")  # 7-bit clean whatever the text
    assert link in data
    assert "Content-Transfer-Encoding: 7bit" in data and "Content-Transfer-Encoding: quoted-printable" in data
    assert max(len(line) for line in data.split("\r\n")) <= MAX_LINE
    assert body(parsed(mail(text="a" * 1500)), "plain") == "a" * 1500 + "\n"


@pytest.mark.parametrize("address", ["a@example.com\r\nBcc: victim@example.com", "a@example.com\nX: y"])
def test_a_line_break_in_an_address_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        compose(mail(address=address), SENDER, date=DATE, message_id="<x@y>", boundary=BOUNDARY)


def test_a_line_break_in_the_subject_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        header("Subject", "Disk full\r\nBcc: victim@example.com")


def test_a_long_subject_is_folded_at_spaces() -> None:
    subject = "[Tocsin] Incident #12 (high urgency): " + "disk full on db-1 " * 12
    lines = header("Subject", subject).split("\n")
    assert len(lines) > 1 and all(len(line) <= LINE for line in lines)
    assert "".join(lines) == f"Subject: {subject}"  # unfolding gives it back exactly
    assert parsed(mail(subject=subject))["Subject"] == reference(mail(subject=subject))["Subject"]


def test_a_word_too_long_for_any_line_is_encoded() -> None:
    lines = header("Subject", "x" * 1200).split("\n")
    assert all(len(line) <= LINE for line in lines)
    assert parsed(mail(subject="x" * 1200))["Subject"] == "x" * 1200


def test_a_non_ascii_address_needs_smtputf8() -> None:
    composed = compose(mail(address="jörg@example.de"), SENDER, date=DATE, message_id="<x@y>", boundary=BOUNDARY)
    assert composed.utf8 and composed.recipient == "jörg@example.de"
    assert "To: jörg@example.de" in composed.data.decode("utf-8")
    plain = compose(mail(), SENDER, date=DATE, message_id="<x@y>", boundary=BOUNDARY)
    assert not plain.utf8 and (plain.sender, plain.recipient) == ("tocsin@alerts.example.com", "oncall@example.com")


def test_the_envelope_takes_the_address_out_of_a_named_one() -> None:
    assert envelope_address("On Call <oncall@example.com>") == "oncall@example.com"
    assert envelope_address(" oncall@example.com ") == "oncall@example.com"


def test_a_sender_must_be_one_address() -> None:
    for bad in ("", "Tocsin", "a@example.com, b@example.com"):
        with pytest.raises(ValueError, match="one email address"):
            parse_sender(bad)
    assert parse_sender("Tocsïn <t@example.com>").line.startswith("From: =?utf-8?")


# Text as alert details bring it: any characters, any line ends, long lines.
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=400)
_SUBJECT = st.text(st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=200).filter(
    lambda s: "=?" not in s)  # a literal encoded word is decoded by readers whoever composes it


@settings(max_examples=300, deadline=None)
@given(subject=_SUBJECT, text=_TEXT, html=st.none() | _TEXT)
def test_a_reader_gets_what_the_email_package_would_have_given(subject: str, text: str, html: str | None) -> None:
    message = mail(subject=subject, text=text, html=html)
    got, expected = parsed(message), reference(message)
    assert got["Subject"] == expected["Subject"]
    assert got["To"] == expected["To"]
    assert body(got, "plain") == body(expected, "plain")
    if html is not None:
        assert body(got, "html") == body(expected, "html")
    assert got.defects == [] and all(part.defects == [] for part in got.walk())


@settings(max_examples=200, deadline=None)
@given(subject=_SUBJECT, text=_TEXT)
def test_no_line_is_longer_than_smtp_allows(subject: str, text: str) -> None:
    data = compose(mail(subject=subject * 8, text=text * 5, html=text), SENDER, date=DATE, message_id="<x@y>",
                   boundary=BOUNDARY).data
    assert all(len(line) <= MAX_LINE for line in data.split(b"\r\n"))
    assert b"\r" not in data.replace(b"\r\n", b"") and b"\n" not in data.replace(b"\r\n", b"")
