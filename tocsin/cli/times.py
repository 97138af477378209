"""Times and durations as people type them (pure): ``yesterday``, ``2h ago``, ``in 30m``,
``monday 09:00``, ``2024-03-04T10:00``, ``1h30m``.

Everything is read in one time zone (the terminal's, or ``--tz``): a date or a time of day without
an offset is that zone's wall clock, and day words start at that zone's midnight.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from tocsin.schedules.zones import iana_name, zone_info


class TimeError(ValueError):
    """Text that is not a time or duration this module reads; the message says what would be."""


UNITS: dict[str, float] = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
EXAMPLES = "now, today, yesterday, tomorrow 09:00, monday, 14:30, 2h ago, in 30m, -1d, 2024-03-04T10:00"


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``1h30m``, ``2 days``, ``1.5h``, or a plain number of seconds."""
    raw = text.strip().lower()
    if re.fullmatch(r"\d+", raw):
        return timedelta(seconds=int(raw))
    total, pos = 0.0, 0
    for match in _PART.finditer(raw):
        if match.start() != pos or match.group(2) not in UNITS:
            break
        total += float(match.group(1)) * UNITS[match.group(2)]
        pos = match.end()
    else:
        if pos and raw[pos:].strip() == "":
            return timedelta(seconds=total)
    raise TimeError(f"{text!r} is not a duration (examples: 90s, 30m, 1h30m, 2d)")


def parse_time(text: str, now: datetime, zone: tzinfo,
               bare: Literal["past", "future"] | None = None) -> datetime:
    """The instant ``text`` names, aware. ``bare`` says which way a duration without ``ago`` or
    ``in`` points (``--since 2h`` means two hours ago); None refuses it as ambiguous."""
    raw = " ".join(text.strip().lower().split())
    # Relative times count real time (UTC): "2h ago" across a daylight-saving change is still two
    # hours ago (Python adds to a zone's time by its wall clock).
    utc_now = now.astimezone(UTC)
    local_now = utc_now.astimezone(zone)
    if raw == "now":
        return local_now
    if raw.endswith(" ago"):
        return (utc_now - parse_duration(raw[:-4])).astimezone(zone)
    if raw.startswith("in "):
        return (utc_now + parse_duration(raw[3:])).astimezone(zone)
    if raw[:1] in "+-" and raw[1:2].isdigit():
        delta = parse_duration(raw[1:])
        return (utc_now + delta if raw[0] == "+" else utc_now - delta).astimezone(zone)
    day_part, _, clock_part = raw.replace(" at ", " ").partition(" ")
    day = _day_word(day_part, local_now.date())
    if day is not None:
        return datetime.combine(day, _clock(clock_part) if clock_part else time(0), tzinfo=zone)
    if _CLOCK.match(raw):
        return datetime.combine(local_now.date(), _clock(raw), tzinfo=zone)
    if re.fullmatch(r"\d+(\.\d+)?\s*[a-z]+(\s*\d+(\.\d+)?\s*[a-z]+)*", raw) and bare is not None:
        delta = parse_duration(raw)
        return (utc_now - delta if bare == "past" else utc_now + delta).astimezone(zone)
    return _iso(text.strip(), zone)


def _day_word(word: str, today: date) -> date | None:
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word in WEEKDAYS:  # the latest such day, today included
        return today - timedelta(days=(today.weekday() - WEEKDAYS.index(word)) % 7)
    return None


def _clock(text: str) -> time:
    match = _CLOCK.match(text.strip())
    if not match:
        raise TimeError(f"{text!r} is not a time of day (HH:MM or HH:MM:SS)")
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise TimeError(f"{text!r} is not a time of day (HH:MM or HH:MM:SS)")
    return time(hour, minute, second)


def _iso(text: str, zone: tzinfo) -> datetime:
    candidate = text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", text) else text
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise TimeError(f"{text!r} is not a time (examples: {EXAMPLES})") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def zone_named(name: str) -> ZoneInfo:
    """An IANA or ActiveSupport zone name (as PagerDuty accepts) -> the zone."""
    try:
        return zone_info(name)
    except ValueError:
        raise TimeError(f"{name!r} is not a time zone (IANA names such as Europe/Berlin, or PagerDuty's "
                        "names such as Berlin)") from None


def system_zone(env: Mapping[str, str], localtime: Path = Path("/etc/localtime")) -> tzinfo:
    """The terminal's time zone, as a real zone (so a 14-day drawing crosses daylight-saving changes
    correctly): ``TZ`` if it names one, else what ``/etc/localtime`` links to, else the current UTC
    offset as a fixed zone."""
    name = env.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(iana_name(name))
        except ValueError:
            pass
    try:
        target = str(localtime.resolve())
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        try:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
        except (ValueError, OSError):
            pass
    fixed = datetime.now().astimezone().tzinfo
    return fixed if fixed is not None else ZoneInfo("UTC")


def zone_label(zone: tzinfo, at: datetime) -> str:
    """A zone's name for headings: the IANA key when it has one."""
    key = getattr(zone, "key", None)
    return str(key) if key else (at.astimezone(zone).tzname() or "local")
