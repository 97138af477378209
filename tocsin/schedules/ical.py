"""On-call shifts as an RFC 5545 iCalendar feed (``text/calendar``). Pure: no I/O.

The format is small enough to write directly: content lines end in CRLF, are folded so no line
exceeds 75 octets (never inside a UTF-8 character), and TEXT values escape ``\\ ; ,`` and
newlines. Times are UTC (``...Z``), so calendar apps need no VTIMEZONE.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

LINE_OCTETS = 75
CRLF = "\r\n"


@dataclass(frozen=True)
class Shift:
    """One final-schedule entry of one user on one schedule."""

    schedule_id: str
    schedule_name: str
    user_id: str
    user_name: str
    start: datetime
    end: datetime
    url: str | None = None  # where the schedule is shown


def escape_text(value: str) -> str:
    """RFC 5545 3.3.11: backslash, semicolon, comma and newlines are escaped in TEXT values."""
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        .replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """RFC 5545 3.1: split after at most 75 octets; continuation lines start with one space."""
    data = line.encode()
    if len(data) <= LINE_OCTETS:
        return line
    parts: list[bytes] = []
    start, limit = 0, LINE_OCTETS
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: back up to the character start
            cut -= 1
        parts.append(data[start:cut])
        start, limit = cut, LINE_OCTETS - 1  # the leading space counts toward the next line's 75
    parts.append(data[start:])
    return (CRLF + " ").join(p.decode() for p in parts)


def utc_stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def uid(shift: Shift, domain: str) -> str:
    """Stable across fetches: the same shift (schedule, user, start) always has the same UID."""
    return f"{shift.schedule_id}-{shift.user_id}-{utc_stamp(shift.start)}@{domain}"


def _event(shift: Shift, domain: str, stamp: str) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid(shift, domain)}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{utc_stamp(shift.start)}",
        f"DTEND:{utc_stamp(shift.end)}",
        f"SUMMARY:{escape_text(f'On call: {shift.user_name} ({shift.schedule_name})')}",
        "TRANSP:TRANSPARENT",  # being on call does not make anyone busy
    ]
    if shift.url:
        lines.append(f"URL:{shift.url}")
    lines.append("END:VEVENT")
    return lines


def calendar(name: str, shifts: Iterable[Shift], *, domain: str, now: datetime,
             refresh: str = "PT1H") -> str:
    """The whole VCALENDAR, one VEVENT per shift, as text with CRLF line ends."""
    stamp = utc_stamp(now)
    lines: list[str] = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Tocsin//On-call schedules//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{refresh}",  # RFC 7986
        f"X-PUBLISHED-TTL:{refresh}",  # the same, for apps that predate RFC 7986
    ]
    ordered: Sequence[Shift] = sorted(shifts, key=lambda s: (s.start, s.schedule_id, s.user_id))
    for shift in ordered:
        lines.extend(_event(shift, domain, stamp))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
