"""A schedule's timeline as geometry (pure: no I/O): who is on call over a window of one to four
weeks, turned into blocks placed in percent of the window's width, day ticks at the viewer's
local midnights, and the gaps of the final schedule.

Every instant is compared in integer microseconds since the epoch (aware datetimes of different
zones compare correctly, but Python subtracts two times of *one* zone by their wall clocks, so a
23-hour spring day would count 24); percentages are computed from those integers only at the end.
The window runs from the viewer's local midnight of its first day to the local midnight
``7 * weeks`` days later, so a week with a DST change is 167 or 169 hours long and its day ticks
are where the clock really reads midnight.
"""

from __future__ import annotations

import zlib
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

Kind = Literal["shift", "override", "gap"]

MAX_WEEKS = 4
PALETTE_SIZE = 8  # tocsin.css has one fill per index (light colours: dark text stays readable)
# The narrowest the drawing's track may be, per number of weeks (tocsin.css holds the same
# widths): the phone scrolls the drawing inside its own box; labels are chosen to fit this width.
MIN_TRACK_PX = {1: 560, 2: 840, 3: 1008, 4: 1120}
CHAR_PX = 7.2  # a 12 px system-ui glyph, on average
LABEL_PADDING_PX = 10
# English names, as the rest of the UI (strftime follows the process's locale, and costs more)
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def us(value: datetime) -> int:
    """Microseconds since the epoch (an aware ``value``)."""
    return (value - _EPOCH) // _US


@dataclass(frozen=True, slots=True)
class Shift:
    """Someone on call over [start, end): an entry of a layer, the overrides or the final schedule."""

    start: datetime
    end: datetime
    user_id: str


@dataclass(frozen=True, slots=True)
class Frame:
    """The window drawn: [since, until) in UTC, from the local midnight of ``first_day`` in ``zone``."""

    first_day: date
    weeks: int
    zone: tzinfo
    since: datetime
    until: datetime

    @property
    def lo(self) -> int:
        return us(self.since)

    @property
    def hi(self) -> int:
        return us(self.until)

    def x(self, at: datetime) -> float:
        """Where ``at`` falls, in percent of the window's width (0 at ``since``, 100 at ``until``)."""
        return percent(us(at) - self.lo, self.hi - self.lo)

    def contains(self, at: datetime) -> bool:
        return self.lo <= us(at) < self.hi

    @property
    def previous_day(self) -> date:
        return self.first_day - timedelta(days=7 * self.weeks)

    @property
    def next_day(self) -> date:
        return self.first_day + timedelta(days=7 * self.weeks)


@dataclass(frozen=True, slots=True)
class Block:
    """One stretch of a row. ``start``/``end`` are clipped to the window (they place it);
    ``shift_start``/``shift_end`` are the whole stretch (what its text says, which may begin
    before the window or end after it). ``user_id`` is None for a gap."""

    start: datetime
    end: datetime
    shift_start: datetime
    shift_end: datetime
    user_id: str | None
    kind: Kind
    x: float
    width: float
    current: bool

    @property
    def right(self) -> float:
        return self.x + self.width


@dataclass(frozen=True, slots=True)
class Tick:
    """A local midnight inside the window (or, with ``hour`` set, a quarter of a day)."""

    x: float
    day: date
    hour: int = 0

    @property
    def label(self) -> str:
        return f"{DAYS[self.day.weekday()]} {self.day.day}"

    @property
    def month(self) -> str:
        return f"{MONTHS[self.day.month - 1]} {self.day.year}"

    @property
    def week_start(self) -> bool:
        return self.hour == 0 and self.day.isoweekday() == 1


def percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The instant ``zone``'s clock reads midnight of ``day`` (UTC). A midnight a spring-forward
    skips (a few zones change at 00:00) maps to the jump itself."""
    return wall_time(day, 0, zone)


def wall_time(day: date, hour: int, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(hour)).replace(tzinfo=zone).astimezone(UTC)


def frame(first_day: date, weeks: int, zone: tzinfo) -> Frame:
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be 1 to {MAX_WEEKS}")
    last = first_day + timedelta(days=7 * weeks)
    return Frame(first_day, weeks, zone, local_midnight(first_day, zone), local_midnight(last, zone))


def day_ticks(f: Frame) -> list[Tick]:
    """Every local midnight of the window, its first day's included (at x = 0)."""
    return [Tick(f.x(local_midnight(day, f.zone)), day) for day in _days(f)]


def hour_ticks(f: Frame, every: int = 6) -> list[Tick]:
    """Lighter lines every ``every`` hours of the local clock, midnights excluded."""
    found = []
    for day in _days(f):
        for hour in range(every, 24, every):
            at = wall_time(day, hour, f.zone)
            if f.contains(at):
                found.append(Tick(f.x(at), day, hour))
    return found


def _days(f: Frame) -> list[date]:
    return [f.first_day + timedelta(days=n) for n in range(7 * f.weeks)]


def _block(f: Frame, lo: int, hi: int, shift_start: datetime, shift_end: datetime, user_id: str | None,
           kind: Kind, now: int) -> Block:
    width = f.hi - f.lo
    return Block(_at(lo), _at(hi), shift_start, shift_end, user_id, kind, percent(lo - f.lo, width),
                 percent(hi - lo, width), user_id is not None and lo <= now < hi)


def _at(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def row(f: Frame, shifts: Iterable[Shift], now: datetime, kind: Kind = "shift") -> list[Block]:
    """A layer's or the overrides' row: each shift clipped to the window, in order. Shifts are
    expected not to overlap (the renderer's sub-schedules never do); should two, the later one
    starts where the earlier ends, so a row never draws one block over another."""
    blocks: list[Block] = []
    cursor = f.lo
    for shift in sorted(shifts, key=lambda s: (us(s.start), us(s.end))):
        lo, hi = max(us(shift.start), cursor), min(us(shift.end), f.hi)
        if lo >= hi:
            continue
        blocks.append(_block(f, lo, hi, shift.start, shift.end, shift.user_id, kind, us(now)))
        cursor = hi
    return blocks


def final_row(f: Frame, final: Iterable[Shift], overrides: Sequence[Shift], now: datetime) -> list[Block]:
    """The final schedule's row: it covers the window exactly, every instant in one block.

    A stretch an override put in place is an ``override`` block (overrides beat every layer, so
    whoever the final schedule names there is the override's person); the rest of a shift is a
    ``shift`` block; where nobody is on call, a ``gap`` block."""
    cover = _union(sorted((us(o.start), us(o.end)) for o in overrides if o.end > o.start))
    ends = [end for _, end in cover]
    blocks: list[Block] = []
    cursor, moment = f.lo, us(now)
    for shift in sorted(final, key=lambda s: (us(s.start), us(s.end))):
        # Cut the whole shift first, so each part's text gives its true start and end.
        lo_us, hi_us = us(shift.start), us(shift.end)
        for part_lo, part_hi, kind in _split(lo_us, hi_us, cover, bisect_right(ends, lo_us)):
            lo, hi = max(part_lo, cursor), min(part_hi, f.hi)
            if lo >= hi:
                continue
            if lo > cursor:
                blocks.append(_block(f, cursor, lo, _at(cursor), _at(lo), None, "gap", moment))
            blocks.append(_block(f, lo, hi, _at(part_lo), _at(part_hi), shift.user_id, kind, moment))
            cursor = hi
    if cursor < f.hi:
        blocks.append(_block(f, cursor, f.hi, _at(cursor), _at(f.hi), None, "gap", moment))
    return blocks


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans joined where they overlap or touch (back-to-back overrides: one stretch)."""
    out: list[tuple[int, int]] = []
    for lo, hi in spans:
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _split(lo: int, hi: int, cover: list[tuple[int, int]], first: int) -> list[tuple[int, int, Kind]]:
    """[lo, hi) cut into the parts inside ``cover`` (disjoint, sorted; ``first`` is the first
    span ending after ``lo``) and those outside."""
    parts: list[tuple[int, int, Kind]] = []
    cursor = lo
    for c_lo, c_hi in cover[first:]:
        if c_lo >= hi:
            break
        if c_lo > cursor:
            parts.append((cursor, c_lo, "shift"))
        cursor = min(c_hi, hi)
        parts.append((max(c_lo, lo), cursor, "override"))
    if cursor < hi:
        parts.append((cursor, hi, "shift"))
    return parts


def colour(user_id: str) -> int:
    """A person's fill, the same on every page and window (a hash of their id, not their order)."""
    return zlib.crc32(user_id.encode()) % PALETTE_SIZE


def label(text: str, width: float, weeks: int) -> str:
    """What fits inside a block ``width`` percent wide at the drawing's narrowest: the text, the
    initials, or nothing (the block's title and the list below the drawing always say it all)."""
    room = width / 100 * MIN_TRACK_PX[weeks] - LABEL_PADDING_PX
    if room >= len(text) * CHAR_PX:
        return text
    initials = "".join(word[0] for word in text.split()[:2] if word).upper()
    return initials if initials and room >= len(initials) * CHAR_PX else ""


def wall(at: datetime, zone: tzinfo) -> str:
    """``Mon 3 Mar 09:00`` on the viewer's clock."""
    local = at.astimezone(zone)
    return f"{DAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.hour:02d}:{local.minute:02d}"
