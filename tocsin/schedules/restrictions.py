"""Restriction windows: local wall-clock intervals turned into UTC spans.

A restriction is defined in the schedule's time zone, so "09:00 for 8 hours" is 09:00-17:00 on
the wall clock every day, whatever the UTC offset. Each window is computed as
``[to_utc(day + start_time_of_day), to_utc(day + start_time_of_day + duration))`` where the
addition is done on the *wall clock* (naive arithmetic) and only then converted. On the day of
a DST change the window therefore lasts more or fewer real seconds than ``duration_seconds``.

Wall times are converted with ``fold=0`` semantics (PEP 495):

* a nonexistent wall time (inside a spring-forward gap) is read with the offset in force before
  the gap, i.e. it moves forward by the gap's length (02:30 on a 1-hour gap becomes 03:30; on
  Lord Howe's 30-minute gap 02:15 becomes 02:45);
* an ambiguous wall time (inside a fall-back repeat) means its first occurrence.

ActiveSupport's ``TimeZone#local``, where PagerDuty's zone names come from, resolves both cases
the same way (DST-ending repeats are read as DST; rails/rails#58242 made the gap shift the
gap's real length rather than a fixed hour).

A window whose converted end is not after its converted start is empty; that happens only when
it starts in a gap and ends, on the wall clock, less than the gap's length later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta, tzinfo

from .model import SECONDS_PER_DAY, Restriction
from .timeline import US_PER_DAY, US_PER_SECOND, Span, from_us, to_us, union

_NAIVE_EPOCH = datetime(1970, 1, 1)
_NOON_US = 12 * 3600 * US_PER_SECOND
_EPOCH_ISOWEEKDAY = 4  # 1970-01-01 was a Thursday


class LocalClock:
    """Wall-clock <-> UTC conversions in one zone, memoised per local day.

    ``zoneinfo`` conversions cost about a microsecond each; a year of daily restrictions on ten
    layers needs thousands. UTC offsets change only a couple of times a year, so on a day whose
    neighbours share its noon offset every wall time maps with that same offset and the result
    is plain subtraction. Days next to a transition fall back to an exact zoneinfo conversion.
    (This assumes a zone never changes offset and back again within two days, which no zone in
    the tz database does.)

    Wall times are microseconds since 1970-01-01 00:00 *local*; days are counted the same way.
    """

    __slots__ = ("_day_offsets", "_noon_offsets", "_zone")

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone
        self._noon_offsets: dict[int, int] = {}
        self._day_offsets: dict[int, int | None] = {}

    def to_utc(self, wall: int) -> int:
        day = wall // US_PER_DAY
        offsets = self._day_offsets
        if day in offsets:
            offset = offsets[day]
        else:
            offset = offsets[day] = self._stable_offset(day)
        if offset is not None:
            return wall - offset
        local = (_NAIVE_EPOCH + timedelta(microseconds=wall)).replace(tzinfo=self._zone)
        return to_us(local)  # fold=0 by default: see the module docstring

    def local_day(self, instant: int) -> int:
        """The local calendar day (days since local 1970-01-01) containing a UTC instant."""
        local = from_us(instant).astimezone(self._zone).replace(tzinfo=None)
        return (local - _NAIVE_EPOCH).days

    def _stable_offset(self, day: int) -> int | None:
        here = self._noon_offset(day)
        if self._noon_offset(day - 1) == here == self._noon_offset(day + 1):
            return here
        return None

    def _noon_offset(self, day: int) -> int:
        found = self._noon_offsets.get(day)
        if found is None:
            noon = _NAIVE_EPOCH + timedelta(microseconds=day * US_PER_DAY + _NOON_US)
            delta = noon.replace(tzinfo=self._zone).utcoffset()
            found = 0 if delta is None else delta // timedelta(microseconds=1)
            self._noon_offsets[day] = found
        return found


def restriction_windows(
    restrictions: Iterable[Restriction], clock: LocalClock, lo: int, hi: int
) -> list[Span]:
    """The union of all restrictions' windows, clipped to [lo, hi) (UTC microseconds)."""
    if lo >= hi:
        return []
    first_day = clock.local_day(lo)
    last_day = clock.local_day(hi - 1)
    spans: list[Span] = []
    for restriction in restrictions:
        duration = restriction.duration_seconds * US_PER_SECOND
        if duration == 0:
            continue
        offset = _time_of_day_us(restriction.start_time_of_day)
        # A window that started up to ``duration`` earlier can still reach ``lo``; one spare
        # day absorbs DST shifts of the converted ends.
        back_days = -(-restriction.duration_seconds // SECONDS_PER_DAY) + 1
        for day in _start_days(restriction, first_day - back_days, last_day + 1):
            wall = day * US_PER_DAY + offset
            start = clock.to_utc(wall)
            end = clock.to_utc(wall + duration)
            if start < hi and end > lo and start < end:
                spans.append((max(start, lo), min(end, hi)))
    return union(spans)


def _start_days(restriction: Restriction, first: int, last: int) -> range:
    """Local days in [first, last] on which the restriction's windows begin."""
    if restriction.type == "daily_restriction":
        return range(first, last + 1)
    assert restriction.start_day_of_week is not None  # enforced by Restriction.__post_init__
    weekday = (first + _EPOCH_ISOWEEKDAY - 1) % 7 + 1
    first += (restriction.start_day_of_week - weekday) % 7
    return range(first, last + 1, 7)


def _time_of_day_us(value: time) -> int:
    seconds = (value.hour * 60 + value.minute) * 60 + value.second
    return seconds * US_PER_SECOND + value.microsecond
