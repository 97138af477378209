"""An email's bytes, composed directly (pure: no I/O).

The email package's ``EmailMessage`` took about 2 ms of CPU per message (parsing every header
it is given, then generating them again): in bulk paging that was the notify step's largest
cost. An alert email has a fixed shape, so this writes it straight out: the headers (simple
ASCII values as they are, folded at spaces when long; anything else through the email package,
as before), then a plain-text part and an HTML alternative, each ``7bit`` when it is ASCII with
lines the SMTP limit allows and quoted-printable otherwise (7-bit clean for any server).

A header value holding a line break (or a NUL) is refused (``ValueError``), as the email package
refuses a line break: an address must never smuggle in another header.
"""

from __future__ import annotations

import binascii
import functools
from dataclasses import dataclass
from email import policy
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.utils import parseaddr

from tocsin.notifications.channel import Message

LINE = 78  # RFC 5322's recommended line length (header folding)
MAX_LINE = 998  # RFC 5322's limit for any line, without its CRLF
_ASCII_FOLDING = policy.default  # "\n" line ends: the whole message gets CRLF at the end
_UTF8_FOLDING = policy.default.clone(utf8=True)


@dataclass(frozen=True, slots=True)
class Sender:
    """The ``From`` header as configured, parsed once (it is the same for every message)."""

    value: str  # as configured, e.g. "Tocsin <tocsin@example.com>"
    line: str  # the folded header line(s), "\n" line ends, no final line end
    address: str  # the envelope sender (addr-spec)


@dataclass(frozen=True, slots=True)
class Composed:
    data: bytes  # the whole message, CRLF line ends
    sender: str  # envelope: MAIL FROM
    recipient: str  # envelope: RCPT TO
    utf8: bool  # an address is not ASCII: the server must offer SMTPUTF8


def _refuse_breaks(name: str, value: str) -> None:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"the {name} header may not contain a line break or NUL: {value!r}")


def parse_sender(value: str) -> Sender:
    """``value``'s header line and envelope address; ``ValueError`` when it names no address."""
    _refuse_breaks("From", value)
    header = _ASCII_FOLDING.header_factory("From", value)
    assert isinstance(header, AddressHeader)
    addresses = header.addresses
    if len(addresses) != 1 or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        raise ValueError(f"the sender must be one email address: {value!r}")
    folding = _ASCII_FOLDING if addresses[0].addr_spec.isascii() else _UTF8_FOLDING
    return Sender(value, _fold(folding, "From", value), addresses[0].addr_spec)


@functools.lru_cache(maxsize=4096)
def envelope_address(address: str) -> str:
    """The addr-spec RCPT TO names for ``address`` (the same people are paged again and again)."""
    return parseaddr(address)[1] or address.strip()


def _fold(folding: policy.EmailPolicy[EmailMessage], name: str, value: str) -> str:
    """The email package's parse and fold of one header (structured, or not ASCII)."""
    parsed: str = folding.header_factory(name, value)
    folded: str = folding.fold(name, parsed)
    return folded.rstrip("\n")


def _fold_words(name: str, value: str) -> str | None:
    """``name: value`` folded before spaces into lines of at most ``LINE`` characters where the
    words allow (unfolding gives ``value`` back exactly); None when a word is too long even for
    ``MAX_LINE``."""
    words = value.split(" ")
    lines, current = [], f"{name}: {words[0]}"
    for word in words[1:]:
        # Never fold before an empty word (a run of spaces): a line of only spaces is not allowed.
        if word and len(current) + 1 + len(word) > LINE and current.strip(" ") != f"{name}:":
            lines.append(current)
            current = " " + word
        else:
            current += " " + word
    lines.append(current)
    return "\n".join(lines) if all(len(line) <= MAX_LINE for line in lines) else None


def header(name: str, value: str, *, utf8: bool = False) -> str:
    """One unstructured or address header, folded; "\n" line ends, none at the end."""
    _refuse_breaks(name, value)
    if value.isascii():
        if len(name) + 2 + len(value) <= LINE:
            return f"{name}: {value}"
        folded = _fold_words(name, value)
        if folded is not None:
            return folded
    return _fold(_UTF8_FOLDING if utf8 else _ASCII_FOLDING, name, value)  # RFC 2047 encoded words, or raw UTF-8


def _text_part(subtype: str, text: str) -> str:
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    if body.isascii() and "\0" not in body and max(len(line) for line in body.split("\n")) <= MAX_LINE:
        encoding = "7bit"
    else:
        encoding = "quoted-printable"
        body = binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii")
    return f'Content-Type: text/{subtype}; charset="utf-8"\nContent-Transfer-Encoding: {encoding}\n\n{body}'


def compose(message: Message, sender: Sender, *, date: str, message_id: str, boundary: str) -> Composed:
    """The email of ``message``: From, To, Subject, Date, Message-ID and Auto-Submitted (RFC
    3834: machine-made, so out-of-office robots do not answer), then the text, with its HTML
    alternative when there is one. ``boundary``: the multipart boundary (the caller makes it
    random, so no body can contain it)."""
    _refuse_breaks("To", message.address)
    recipient = envelope_address(message.address)
    utf8 = not (sender.address.isascii() and message.address.isascii())
    from_line = sender.line if not utf8 else header("From", sender.value, utf8=True)
    lines = [
        from_line, header("To", message.address, utf8=utf8), header("Subject", message.subject, utf8=utf8),
        header("Date", date), header("Message-ID", message_id), "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
    ]
    if message.html is None:
        body = _text_part("plain", message.text)
    else:
        lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        body = (f"\n--{boundary}\n{_text_part('plain', message.text)}\n--{boundary}\n"
                f"{_text_part('html', message.html)}\n--{boundary}--\n")
    text = "\n".join(lines) + "\n" + body
    return Composed(text.replace("\n", "\r\n").encode("utf-8"), sender.address, recipient, utf8)
