"""Wall-clock behaviour around DST changes.

The rule under test (see tocsin.schedules.oncall): rotation turns are absolute seconds, so a
24-hour handoff at 09:00 local moves to 10:00 (spring) or 08:00 (fall) local after a change;
restrictions are local wall-clock windows, so 09:00-17:00 stays 09:00-17:00 local.

2024 transitions used (local wall times):
  America/New_York    spring 03-10 02:00->03:00   fall 11-03 02:00->01:00
  Europe/London       spring 03-31 01:00->02:00   fall 10-27 02:00->01:00
  Australia/Adelaide  spring 10-06 02:00->03:00   fall 04-07 03:00->02:00   (+9:30 / +10:30)
  Pacific/Auckland    spring 09-29 02:00->03:00   fall 04-07 03:00->02:00
  Australia/Lord_Howe spring 10-06 02:00->02:30   fall 04-07 02:00->01:30   (30-minute shift)
  Australia/Sydney    spring 10-06 02:00->03:00   fall 04-07 03:00->02:00
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tocsin.schedules.oncall import Entry, Layer, Restriction, on_call_at, render_schedule
from tocsin.schedules.restrictions import LocalClock
from tocsin.schedules.timeline import to_us

HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY

TRANSITIONS = [
    ("America/New_York", date(2024, 3, 10)),
    ("America/New_York", date(2024, 11, 3)),
    ("Europe/London", date(2024, 3, 31)),
    ("Europe/London", date(2024, 10, 27)),
    ("Australia/Adelaide", date(2024, 10, 6)),
    ("Australia/Adelaide", date(2024, 4, 7)),
    ("Pacific/Auckland", date(2024, 9, 29)),
    ("Pacific/Auckland", date(2024, 4, 7)),
    ("Australia/Lord_Howe", date(2024, 10, 6)),
    ("Australia/Lord_Howe", date(2024, 4, 7)),
    ("Australia/Sydney", date(2024, 10, 6)),
    ("Australia/Sydney", date(2024, 4, 7)),
]
ZONES = sorted({zone for zone, _ in TRANSITIONS})


def local(zone: str, text: str) -> datetime:
    """A local wall time, fold=0 (the first occurrence when ambiguous)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def wall(zone: str, entries: list[Entry]) -> list[tuple[str, str, str]]:
    """Entries as local wall-clock strings, which is how a person would check them."""
    tz = ZoneInfo(zone)
    fmt = "%m-%d %H:%M"
    return [
        (x.start.astimezone(tz).strftime(fmt), x.end.astimezone(tz).strftime(fmt), x.user)
        for x in entries
    ]


def one_user_layer(
    vs: datetime,
    restrictions: tuple[Restriction, ...],
    users: tuple[str, ...] = ("a",),
    turn: int = DAY,
) -> Layer:
    return Layer("L", vs - timedelta(days=30), None, users, vs, turn, restrictions)


def render_days(zone: str, layer: Layer, first: date, days: int) -> list[Entry]:
    since = datetime.combine(first, time(), tzinfo=ZoneInfo(zone))
    until = datetime.combine(first + timedelta(days=days), time(), tzinfo=ZoneInfo(zone))
    return render_schedule([layer], [], zone, since, until).final


@pytest.mark.parametrize(("zone", "day"), TRANSITIONS, ids=[f"{z}-{d}" for z, d in TRANSITIONS])
def test_daily_restriction_stays_at_nine_local(zone: str, day: date) -> None:
    nine_to_five = (Restriction.daily(time(9), 8 * HOUR),)
    layer = one_user_layer(local(zone, "2024-01-01 09:00"), nine_to_five)
    entries = render_days(zone, layer, day - timedelta(days=3), 7)
    expected = [
        (f"{d:%m-%d} 09:00", f"{d:%m-%d} 17:00", "a")
        for d in (day + timedelta(days=offset) for offset in range(-3, 4))
    ]
    assert wall(zone, entries) == expected
    # No transition happens during the day, so each window is also 8 real hours.
    assert all(x.end - x.start == timedelta(hours=8) for x in entries)


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # 09:00 EST is 14:00Z; 09:00 EDT is 13:00Z.
        (
            "America/New_York",
            ("2024-03-09 14:00", "2024-03-09 22:00"),
            ("2024-03-10 13:00", "2024-03-10 21:00"),
        ),
        (
            "America/New_York",
            ("2024-11-02 13:00", "2024-11-02 21:00"),
            ("2024-11-03 14:00", "2024-11-03 22:00"),
        ),
        # 09:00 GMT is 09:00Z; 09:00 BST is 08:00Z.
        (
            "Europe/London",
            ("2024-03-30 09:00", "2024-03-30 17:00"),
            ("2024-03-31 08:00", "2024-03-31 16:00"),
        ),
        # 09:00 ACST (+9:30) is 23:30Z the day before; 09:00 ACDT (+10:30) is 22:30Z.
        (
            "Australia/Adelaide",
            ("2024-10-04 23:30", "2024-10-05 07:30"),
            ("2024-10-05 22:30", "2024-10-06 06:30"),
        ),
    ],
)
def test_daily_restriction_in_utc_hand_worked(
    zone: str, before: tuple[str, str], after: tuple[str, str]
) -> None:
    layer = one_user_layer(local(zone, "2024-01-01 09:00"), (Restriction.daily(time(9), 8 * HOUR),))
    start = utc(before[0]) - timedelta(hours=1)
    end = utc(after[1]) + timedelta(hours=1)
    result = render_schedule([layer], [], zone, start, end)
    assert result.final == [
        Entry(utc(before[0]), utc(before[1]), "a"),
        Entry(utc(after[0]), utc(after[1]), "a"),
    ]


@pytest.mark.parametrize(
    ("zone", "virtual_start", "handoffs"),
    [
        # Handoff every 86400 s from 09:00 EST (14:00Z): after spring-forward it is 10:00 EDT.
        (
            "America/New_York",
            "2024-03-08 09:00",
            ["03-08 09:00", "03-09 09:00", "03-10 10:00", "03-11 10:00"],
        ),
        # From 09:00 EDT (13:00Z): after fall-back it is 08:00 EST.
        (
            "America/New_York",
            "2024-11-01 09:00",
            ["11-01 09:00", "11-02 09:00", "11-03 08:00", "11-04 08:00"],
        ),
        (
            "Europe/London",
            "2024-03-29 09:00",
            ["03-29 09:00", "03-30 09:00", "03-31 10:00", "04-01 10:00"],
        ),
        (
            "Europe/London",
            "2024-10-25 09:00",
            ["10-25 09:00", "10-26 09:00", "10-27 08:00", "10-28 08:00"],
        ),
        # +9:30 -> +10:30: 09:00 ACST becomes 10:00 ACDT.
        (
            "Australia/Adelaide",
            "2024-10-04 09:00",
            ["10-04 09:00", "10-05 09:00", "10-06 10:00", "10-07 10:00"],
        ),
        (
            "Australia/Adelaide",
            "2024-04-05 09:00",
            ["04-05 09:00", "04-06 09:00", "04-07 08:00", "04-08 08:00"],
        ),
        (
            "Pacific/Auckland",
            "2024-04-05 09:00",
            ["04-05 09:00", "04-06 09:00", "04-07 08:00", "04-08 08:00"],
        ),
        # A 30-minute DST shift moves the handoff by 30 minutes.
        (
            "Australia/Lord_Howe",
            "2024-10-04 09:00",
            ["10-04 09:00", "10-05 09:00", "10-06 09:30", "10-07 09:30"],
        ),
        (
            "Australia/Lord_Howe",
            "2024-04-05 09:00",
            ["04-05 09:00", "04-06 09:00", "04-07 08:30", "04-08 08:30"],
        ),
    ],
)
def test_rotation_turns_are_absolute_seconds(
    zone: str, virtual_start: str, handoffs: list[str]
) -> None:
    vs = local(zone, virtual_start).astimezone(UTC)  # aware arithmetic in a zone is wall-clock
    layer = one_user_layer(vs, (), users=("a", "b"))
    result = render_schedule([layer], [], zone, vs, vs + timedelta(days=4))
    starts = [start for start, _, _ in wall(zone, result.final)]
    assert starts == handoffs
    assert all(x.end - x.start == timedelta(days=1) for x in result.final)


def test_weekly_rotation_hands_off_an_hour_later_after_spring_forward() -> None:
    vs = local("Europe/London", "2024-03-25 09:00").astimezone(UTC)  # a Monday, GMT
    layer = one_user_layer(vs, (), users=("a", "b"), turn=WEEK)
    result = render_schedule([layer], [], "Europe/London", vs, vs + timedelta(weeks=2))
    assert wall("Europe/London", result.final) == [
        ("03-25 09:00", "04-01 10:00", "a"),
        ("04-01 10:00", "04-08 10:00", "b"),
    ]


def test_restriction_and_rotation_disagree_after_the_change() -> None:
    # Turns hand off at 14:00Z (09:00 EST, then 10:00 EDT); the restriction stays 09:00-17:00
    # local, so from the change on the window is split at 10:00 between two users.
    vs = local("America/New_York", "2024-03-08 09:00")
    layer = one_user_layer(vs, (Restriction.daily(time(9), 8 * HOUR),), users=("a", "b"))
    entries = render_days("America/New_York", layer, date(2024, 3, 9), 3)
    assert wall("America/New_York", entries) == [
        ("03-09 09:00", "03-09 17:00", "b"),
        ("03-10 09:00", "03-10 10:00", "b"),
        ("03-10 10:00", "03-10 17:00", "a"),
        ("03-11 09:00", "03-11 10:00", "a"),
        ("03-11 10:00", "03-11 17:00", "b"),
    ]


@pytest.mark.parametrize(
    ("zone", "evening", "real_hours"),
    [
        ("America/New_York", date(2024, 3, 9), 7),
        ("America/New_York", date(2024, 11, 2), 9),
        ("Europe/London", date(2024, 3, 30), 7),
        ("Europe/London", date(2024, 10, 26), 9),
        ("Australia/Adelaide", date(2024, 10, 5), 7),
        ("Australia/Adelaide", date(2024, 4, 6), 9),
        ("Pacific/Auckland", date(2024, 9, 28), 7),
        ("Pacific/Auckland", date(2024, 4, 6), 9),
        ("Australia/Lord_Howe", date(2024, 10, 5), 7.5),
        ("Australia/Lord_Howe", date(2024, 4, 6), 8.5),
    ],
)
def test_overnight_restriction_across_the_change(
    zone: str, evening: date, real_hours: float
) -> None:
    # 22:00-06:00 local is eight wall-clock hours but 7 or 9 (7.5 / 8.5) real hours that night.
    layer = one_user_layer(
        local(zone, "2024-01-01 09:00"), (Restriction.daily(time(22), 8 * HOUR),)
    )
    entries = render_days(zone, layer, evening, 1)
    whole = render_schedule(
        [layer], [], zone, entries[-1].start, entries[-1].start + timedelta(hours=1), overflow=True
    ).final
    [night] = whole
    next_day = evening + timedelta(days=1)
    assert wall(zone, [night]) == [(f"{evening:%m-%d} 22:00", f"{next_day:%m-%d} 06:00", "a")]
    assert night.end - night.start == timedelta(hours=real_hours)


def test_nonexistent_start_moves_forward_by_the_gap() -> None:
    # 02:30 on 2024-03-10 does not exist in New York; read with the pre-gap offset (EST) it is
    # 07:30Z = 03:30 EDT. The end, 04:30 wall, is 04:30 EDT. Other days keep 02:30-04:30.
    zone = "America/New_York"
    layer = one_user_layer(
        local(zone, "2024-01-01 09:00"), (Restriction.daily(time(2, 30), 2 * HOUR),)
    )
    entries = render_days(zone, layer, date(2024, 3, 9), 3)
    assert wall(zone, entries) == [
        ("03-09 02:30", "03-09 04:30", "a"),
        ("03-10 03:30", "03-10 04:30", "a"),
        ("03-11 02:30", "03-11 04:30", "a"),
    ]
    assert entries[1] == Entry(utc("2024-03-10 07:30"), utc("2024-03-10 08:30"), "a")


def test_window_wholly_inside_the_gap_is_empty_that_day() -> None:
    # 02:30 + 1 h: start 02:30 -> 03:30 EDT, end 03:30 EDT: nothing on the change day.
    zone = "America/New_York"
    layer = one_user_layer(local(zone, "2024-01-01 09:00"), (Restriction.daily(time(2, 30), HOUR),))
    entries = render_days(zone, layer, date(2024, 3, 9), 3)
    assert wall(zone, entries) == [
        ("03-09 02:30", "03-09 03:30", "a"),
        ("03-11 02:30", "03-11 03:30", "a"),
    ]


def test_nonexistent_start_in_a_half_hour_zone() -> None:
    # Adelaide skips 02:00-03:00 on 2024-10-06: 02:15 ACST-read is 03:15 ACDT; end 05:15 ACDT.
    zone = "Australia/Adelaide"
    layer = one_user_layer(
        local(zone, "2024-01-01 09:00"), (Restriction.daily(time(2, 15), 3 * HOUR),)
    )
    entries = render_days(zone, layer, date(2024, 10, 6), 1)
    assert wall(zone, entries) == [("10-06 03:15", "10-06 05:15", "a")]
    assert entries[0].start == utc("2024-10-05 16:45")


def test_nonexistent_start_in_a_thirty_minute_gap() -> None:
    # Lord Howe skips 02:00-02:30 on 2024-10-06: 02:15 moves forward by the gap, to 02:45 +11:00.
    zone = "Australia/Lord_Howe"
    layer = one_user_layer(local(zone, "2024-01-01 09:00"), (Restriction.daily(time(2, 15), HOUR),))
    entries = render_days(zone, layer, date(2024, 10, 5), 3)
    assert wall(zone, entries) == [
        ("10-05 02:15", "10-05 03:15", "a"),
        ("10-06 02:45", "10-06 03:15", "a"),
        ("10-07 02:15", "10-07 03:15", "a"),
    ]
    assert entries[1] == Entry(utc("2024-10-05 15:45"), utc("2024-10-05 16:15"), "a")


def test_ambiguous_times_mean_the_first_occurrence() -> None:
    # 01:00-02:00 happens twice in New York on 2024-11-03 (EDT 05:00-06:00Z, EST 06:00-07:00Z).
    zone = "America/New_York"
    half_hour = one_user_layer(local(zone, "2024-01-01 09:00"), (Restriction.daily(time(1), 1800),))
    [entry] = render_days(zone, half_hour, date(2024, 11, 3), 1)
    assert entry == Entry(utc("2024-11-03 05:00"), utc("2024-11-03 05:30"), "a")
    assert on_call_at([half_hour], [], zone, utc("2024-11-03 05:15")) == "a"  # 01:15 EDT
    assert on_call_at([half_hour], [], zone, utc("2024-11-03 06:15")) is None  # 01:15 EST
    # 01:30 (first, EDT) to 02:30 (EST) is two real hours.
    hour = one_user_layer(local(zone, "2024-01-01 09:00"), (Restriction.daily(time(1, 30), HOUR),))
    [entry] = render_days(zone, hour, date(2024, 11, 3), 1)
    assert entry == Entry(utc("2024-11-03 05:30"), utc("2024-11-03 07:30"), "a")


def test_weekly_restriction_spanning_the_change() -> None:
    # Saturday 20:00 + 24 h over New York's spring-forward Sunday: 23 real hours.
    zone = "America/New_York"
    layer = one_user_layer(local(zone, "2024-01-01 09:00"), (Restriction.weekly(6, time(20), DAY),))
    entries = render_days(zone, layer, date(2024, 3, 2), 14)
    assert wall(zone, entries) == [
        ("03-02 20:00", "03-03 20:00", "a"),
        ("03-09 20:00", "03-10 20:00", "a"),
    ]
    assert [x.end - x.start for x in entries] == [timedelta(hours=24), timedelta(hours=23)]


@pytest.mark.parametrize("zone", ZONES)
def test_a_year_of_daily_restrictions_is_always_nine_to_five(zone: str) -> None:
    layer = one_user_layer(local(zone, "2024-01-01 09:00"), (Restriction.daily(time(9), 8 * HOUR),))
    entries = render_days(zone, layer, date(2024, 1, 1), 366)
    assert len(entries) == 366
    assert {(s[6:], e[6:]) for s, e, _ in wall(zone, entries)} == {("09:00", "17:00")}


@pytest.mark.parametrize("zone", ZONES)
def test_cached_wall_clock_conversion_matches_zoneinfo(zone: str) -> None:
    # LocalClock memoises offsets per day; check it against zoneinfo every 15 minutes of 2024.
    tz = ZoneInfo(zone)
    clock = LocalClock(tz)
    naive = datetime(2024, 1, 1)
    epoch = datetime(1970, 1, 1)
    while naive.year == 2024:
        wall_us = (naive - epoch) // timedelta(microseconds=1)
        assert clock.to_utc(wall_us) == to_us(naive.replace(tzinfo=tz)), naive
        naive += timedelta(minutes=15)
