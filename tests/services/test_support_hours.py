"""When support hours next begin (tocsin.services.urgency.next_support_hours_start): examples
around daylight-saving changes, and properties against a brute-force reading of
``within_support_hours`` (the rule that decides an event's urgency)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.services.urgency import next_support_hours_end, next_support_hours_start, within_support_hours

WEEKDAYS = [1, 2, 3, 4, 5]


def hours(zone: str, start: str = "09:00:00", end: str = "17:00:00", days: list[int] | None = None) -> dict[str, Any]:
    return {"type": "fixed_time_per_day", "time_zone": zone, "start_time": start, "end_time": end,
            "days_of_week": WEEKDAYS if days is None else days}


def test_next_start_is_the_next_support_days_local_start() -> None:
    ny = hours("America/New_York")
    friday_evening = datetime(2024, 3, 8, 23, tzinfo=UTC)  # Friday 18:00 EST
    # Monday 09:00 EDT: the weekend held the change to daylight saving (13:00 UTC, not 14:00).
    assert next_support_hours_start(ny, friday_evening) == datetime(2024, 3, 11, 13, tzinfo=UTC)
    assert next_support_hours_start(ny, datetime(2024, 3, 11, 13, tzinfo=UTC)) == datetime(2024, 3, 12, 13, tzinfo=UTC)
    assert next_support_hours_end(ny, friday_evening) == datetime(2024, 3, 11, 21, tzinfo=UTC)
    lima = hours("Lima")  # an ActiveSupport name, as PagerDuty's own example uses
    assert next_support_hours_start(lima, datetime(2024, 6, 3, 10, tzinfo=UTC)) == datetime(2024, 6, 3, 14, tzinfo=UTC)


def test_a_start_in_a_spring_forward_gap_is_the_jump_and_a_repeated_one_its_first_occurrence() -> None:
    gap = hours("America/New_York", start="02:30:00", days=[7])  # Sunday 10 March 2024: 02:00 -> 03:00
    found = next_support_hours_start(gap, datetime(2024, 3, 9, tzinfo=UTC))
    assert found == datetime(2024, 3, 10, 7, tzinfo=UTC)  # 03:00 EDT, the first instant past 02:30
    assert within_support_hours(gap, found) and not within_support_hours(gap, found - timedelta(seconds=1))
    repeated = hours("America/New_York", start="01:30:00", days=[7])  # Sunday 3 November: 01:00-02:00 twice
    assert next_support_hours_start(repeated, datetime(2024, 11, 2, tzinfo=UTC)) == datetime(2024, 11, 3, 5, 30,
                                                                                              tzinfo=UTC)


def test_no_days_or_no_start_means_never() -> None:
    assert next_support_hours_start(hours("UTC", days=[]), datetime(2024, 1, 1, tzinfo=UTC)) is None
    assert next_support_hours_start(hours("UTC", start="nine"), datetime(2024, 1, 1, tzinfo=UTC)) is None


# --- properties ----------------------------------------------------------------------------

# Zones with a daylight-saving change near BASE (spring and autumn, a 30-minute one among them).
ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Australia/Adelaide", "Asia/Kolkata"]
BASE = datetime(2024, 3, 28, tzinfo=UTC)
STEP = timedelta(minutes=5)  # every offset, shift and generated time is on this grid


def first_inside(support_hours: dict[str, Any], day_start: datetime, day_end: datetime) -> datetime | None:
    """Brute force: the first grid instant of [day_start, day_end) within support hours."""
    t = day_start
    while t < day_end:
        if within_support_hours(support_hours, t):
            return t
        t += STEP
    return None


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def check_next_start(support: dict[str, Any], since: datetime, zone: str) -> None:
    """The answer is after ``since``, inside support hours, just after an instant outside them;
    and no local day between ``since`` and it has a start of its own (the first instant of the
    day within support hours, found by brute force)."""
    found = next_support_hours_start(support, since)
    assert found is not None and found > since
    assert found - since <= timedelta(days=8)
    assert within_support_hours(support, found)
    assert not within_support_hours(support, found - timedelta(seconds=1))
    tz = ZoneInfo(zone)
    local_day = since.astimezone(tz).date()
    while True:  # every local day from ``since``'s up to the answer's
        day_start = datetime.combine(local_day, time(0), tzinfo=tz).astimezone(UTC)
        day_end = datetime.combine(local_day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        if day_start > found:
            break
        entered = first_inside(support, day_start, day_end)
        if entered is not None and since < entered < found:
            raise AssertionError(f"support hours began at {entered}, before the answer {found}")
        local_day += timedelta(days=1)


@settings(max_examples=150, deadline=None)
@given(zone=st.sampled_from(ZONES), start=st.integers(0, 22 * 4), length=st.integers(4, 12 * 4),
       days=st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True),
       after=st.integers(-20 * 24 * 4, 20 * 24 * 4), march=st.booleans())
def test_next_start_is_the_first_instant_support_hours_are_entered(
    zone: str, start: int, length: int, days: list[int], after: int, march: bool,
) -> None:
    base = BASE if march else datetime(2024, 10, 20, tzinfo=UTC)  # spring (north) or autumn changes
    end = min(start + length, 24 * 4 - 1)
    support = hours(zone, clock(start * 15), clock(end * 15), sorted(days))
    check_next_start(support, base + after * timedelta(minutes=15), zone)


# Local days with a daylight-saving change, early-morning starts around it.
CHANGE_DAYS = [("America/New_York", date(2024, 3, 10)), ("America/New_York", date(2024, 11, 3)),
               ("Europe/London", date(2024, 3, 31)), ("Australia/Lord_Howe", date(2024, 4, 7)),
               ("Australia/Lord_Howe", date(2024, 10, 6)), ("Australia/Adelaide", date(2024, 4, 7)),
               ("Australia/Adelaide", date(2024, 10, 6))]


@settings(max_examples=200, deadline=None)
@given(change=st.sampled_from(CHANGE_DAYS), start=st.integers(0, 4 * 12), length=st.integers(1, 10 * 12),
       after=st.integers(0, 2 * 24 * 12))
def test_next_start_across_a_clock_change(change: tuple[str, date], start: int, length: int, after: int) -> None:
    zone, day = change
    support = hours(zone, clock(start * 5), clock(start * 5 + length * 5), list(range(1, 8)))
    midnight_before = datetime.combine(day - timedelta(days=1), time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    check_next_start(support, midnight_before + after * STEP, zone)
