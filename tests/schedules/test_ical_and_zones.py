"""The iCal writer (RFC 5545 lines, folding, escaping) and the time-zone name table. Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tocsin.schedules.ical import Shift, calendar, escape_text, fold, uid
from tocsin.schedules.zone_names import ACTIVE_SUPPORT_ZONES
from tocsin.schedules.zones import iana_name, zone_info

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def shift(**fields: Any) -> Shift:
    values: dict[str, Any] = {
        "schedule_id": "PSCHED1", "schedule_name": "Primary", "user_id": "PUSER01", "user_name": "Ann",
        "start": datetime(2030, 1, 7, tzinfo=UTC), "end": datetime(2030, 1, 14, tzinfo=UTC),
    }
    values.update(fields)
    return Shift(**values)


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_calendar_has_the_required_properties_and_one_event_per_shift() -> None:
    text = calendar("Primary", [shift(), shift(start=datetime(2030, 1, 14, tzinfo=UTC),
                                                end=datetime(2030, 1, 21, tzinfo=UTC), user_name="Bob")],
                    domain="tocsin.test", now=NOW)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = unfold(text)
    assert lines[:3] == ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Tocsin//On-call schedules//EN"]
    assert lines[-2:] == ["END:VCALENDAR", ""]
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 2
    assert "DTSTART:20300107T000000Z" in lines and "DTEND:20300114T000000Z" in lines
    assert "SUMMARY:On call: Ann (Primary)" in lines and "SUMMARY:On call: Bob (Primary)" in lines
    assert lines.count("DTSTAMP:20300101T120000Z") == 2
    assert "UID:PSCHED1-PUSER01-20300107T000000Z@tocsin.test" in lines


def test_uid_is_stable_and_distinct_per_shift() -> None:
    assert uid(shift(), "a") == uid(shift(end=datetime(2030, 2, 1, tzinfo=UTC)), "a")
    assert uid(shift(), "a") != uid(shift(user_id="PUSER02"), "a")
    assert uid(shift(), "a") != uid(shift(start=datetime(2030, 1, 8, tzinfo=UTC)), "a")


def test_text_values_are_escaped() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    text = calendar("x", [shift(schedule_name="Ops, night; EU", user_name="O\\Brien")], domain="d", now=NOW)
    assert "SUMMARY:On call: O\\\\Brien (Ops\\, night\\; EU)" in unfold(text)


@pytest.mark.parametrize("name", ["A" * 200, "é" * 120, "x" + "日本語" * 50, "ab" * 37 + "é"])
def test_long_lines_fold_at_75_octets_without_splitting_characters(name: str) -> None:
    line = f"SUMMARY:{name}"
    folded = fold(line)
    physical = folded.split("\r\n")
    assert len(physical) > 1
    assert all(len(p.encode()) <= 75 for p in physical)
    assert all(p.startswith(" ") for p in physical[1:])
    assert folded.replace("\r\n ", "") == line  # decoding every piece proves no character was cut


def test_short_lines_are_not_folded() -> None:
    assert fold("X" * 75) == "X" * 75
    assert fold("X" * 76) == "X" * 75 + "\r\n X"


def test_activesupport_table_is_complete_and_every_zone_resolves() -> None:
    assert len(ACTIVE_SUPPORT_ZONES) == 151
    for name, iana in ACTIVE_SUPPORT_ZONES.items():
        assert ZoneInfo(iana) is not None, name
    assert ACTIVE_SUPPORT_ZONES["Eastern Time (US & Canada)"] == "America/New_York"
    assert ACTIVE_SUPPORT_ZONES["Pacific Time (US & Canada)"] == "America/Los_Angeles"
    assert ACTIVE_SUPPORT_ZONES["Mumbai"] == "Asia/Kolkata"
    assert ACTIVE_SUPPORT_ZONES["International Date Line West"] == "Etc/GMT+12"


@pytest.mark.parametrize(("given", "iana"), [
    ("London", "Europe/London"), ("Tokyo", "Asia/Tokyo"), ("UTC", "Etc/UTC"),
    ("Europe/Paris", "Europe/Paris"), ("Etc/UTC", "Etc/UTC"),
])
def test_names_map_to_iana(given: str, iana: str) -> None:
    assert iana_name(given) == iana
    assert zone_info(given) == ZoneInfo(iana)


@pytest.mark.parametrize("bad", ["Mars/Olympus", "Eastern Time", "../etc/passwd", "", "london"])
def test_unknown_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="is not an IANA or ActiveSupport time zone name"):
        iana_name(bad)
