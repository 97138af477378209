"""Times and durations as people type them (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.cli.times import TimeError, parse_duration, parse_time, system_zone, zone_named

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2024, 3, 6, 15, 20, tzinfo=UTC)  # a Wednesday; 16:20 in Berlin (UTC+1)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


@pytest.mark.parametrize(("text", "expected"), [
    ("now", local(2024, 3, 6, 16, 20)),
    ("today", local(2024, 3, 6)),
    ("yesterday", local(2024, 3, 5)),
    ("Tomorrow 09:00", local(2024, 3, 7, 9)),
    ("tomorrow at 9:30", local(2024, 3, 7, 9, 30)),
    ("monday", local(2024, 3, 4)),
    ("wednesday", local(2024, 3, 6)),  # today is one
    ("thursday 18:00", local(2024, 2, 29, 18)),  # the latest Thursday
    ("14:30", local(2024, 3, 6, 14, 30)),
    ("2h ago", local(2024, 3, 6, 14, 20)),
    ("90 minutes ago", local(2024, 3, 6, 14, 50)),
    ("in 30m", local(2024, 3, 6, 16, 50)),
    ("-1d", local(2024, 3, 5, 16, 20)),
    ("+1h30m", local(2024, 3, 6, 17, 50)),
    ("2024-03-04T10:00", local(2024, 3, 4, 10)),
    ("2024-03-04 10:00", local(2024, 3, 4, 10)),
    ("2024-03-04", local(2024, 3, 4)),
    ("2024-03-04T10:00Z", datetime(2024, 3, 4, 10, tzinfo=UTC)),
    ("2024-03-04T10:00:00-05:00", datetime(2024, 3, 4, 15, tzinfo=UTC)),
])
def test_times(text: str, expected: datetime) -> None:
    assert parse_time(text, NOW, BERLIN) == expected


def test_a_bare_duration_points_the_way_the_option_says() -> None:
    assert parse_time("2h", NOW, BERLIN, bare="past") == NOW - timedelta(hours=2)
    assert parse_time("2 days", NOW, BERLIN, bare="future") == NOW + timedelta(days=2)
    with pytest.raises(TimeError):
        parse_time("2h", NOW, BERLIN)


def test_relative_times_count_real_hours_across_a_daylight_saving_change() -> None:
    before = datetime(2024, 3, 31, 0, 30, tzinfo=UTC)  # 01:30 CET; clocks jump at 02:00 to 03:00
    assert parse_time("in 1h", before, BERLIN) == before + timedelta(hours=1)
    assert parse_time("in 1h", before, BERLIN).astimezone(BERLIN).hour == 3


@pytest.mark.parametrize("text", ["blah", "25:00", "tomorrow 9", "2024-13-01", "yesterday noon", ""])
def test_nonsense_is_refused_with_examples(text: str) -> None:
    with pytest.raises(TimeError, match="not a time"):
        parse_time(text, NOW, BERLIN)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("30m", 1800), ("1h30m", 5400), ("2 days", 172800), ("1.5h", 5400), ("45", 45),
    ("1w", 604800), ("1 hour 15 minutes", 4500),
])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "abc", "1x", "h", "1h 2", "-1h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(TimeError, match="not a duration"):
        parse_duration(text)


@given(hours=st.integers(0, 500), minutes=st.integers(0, 59))
def test_durations_read_back(hours: int, minutes: int) -> None:
    assert parse_duration(f"{hours}h{minutes}m") == timedelta(hours=hours, minutes=minutes)


def test_zone_names_take_pagerdutys_friendly_names_too() -> None:
    assert zone_named("Berlin") == BERLIN and zone_named("Europe/Berlin") == BERLIN
    with pytest.raises(TimeError, match="not a time zone"):
        zone_named("Mars/Olympus")


def test_the_terminals_zone(tmp_path: Path) -> None:
    assert system_zone({"TZ": "Asia/Tokyo"}) == ZoneInfo("Asia/Tokyo")
    assert system_zone({"TZ": ":Europe/Berlin"}) == BERLIN
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/America/Chicago")  # what /etc/localtime usually is
    assert system_zone({}, link) == ZoneInfo("America/Chicago")
    fallback = system_zone({"TZ": "Not/AZone"}, tmp_path / "missing")
    assert fallback.utcoffset(NOW) is not None
