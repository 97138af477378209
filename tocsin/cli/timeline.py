"""A schedule drawn as text (pure): a grid of days by time of day, then the exact shifts.

Input: the schedule's rendered entries as the API gives them (``final_schedule`` and the
``overrides_subschedule``), the window and a time zone. Output: lines of plain text, readable
without colour:

    Mon 04 Mar |AAAAAAAAAAAAAAAAAAaaaaaaBBBBBBBBBBBBBBBBBBBBBBBB|

* one row per day of the zone's calendar, one cell per ``cell_minutes`` of its wall clock;
* a cell shows whoever is on call for most of it: a capital letter per person (the legend names
  them), the same letter in lower case when an override put them there, ``.`` where nobody is on
  call (a gap), blank outside the window and in the hour a spring-forward night skips (a
  fall-back night's repeated hour is counted in the cell that ends at the jump);
* below, every shift with its exact start and end, overrides and gaps named in words.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

GAP = "."
OUTSIDE = " "
CROWD = "#"  # people past the 26th share this mark (the shift list names them)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Shift:
    start: datetime
    end: datetime
    user_id: str
    name: str


@dataclass(frozen=True)
class Piece:
    """A stretch of the window with one state: someone (through an override or not) or nobody."""

    start: datetime
    end: datetime
    user_id: str | None  # None: nobody is on call
    name: str
    override: bool

    @property
    def key(self) -> tuple[str | None, bool]:
        return self.user_id, self.override


def pieces(final: Sequence[Shift], overrides: Sequence[Shift], since: datetime, until: datetime) -> list[Piece]:
    """The window cut where the on-call state changes. The final schedule says who; an override
    of that same person over that stretch says how. Every instant is taken to UTC first: Python
    subtracts two times of one zone by their wall clocks (a 23-hour spring day would count 24)."""
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    final = [_utc(s) for s in final]
    overrides = [_utc(s) for s in overrides]
    cuts = {since, until}
    for shift in (*final, *overrides):
        for instant in (shift.start, shift.end):
            if since < instant < until:
                cuts.add(instant)
    ordered = sorted(cuts)
    found: list[Piece] = []
    for start, end in itertools.pairwise(ordered):
        who = next((s for s in final if s.start <= start and s.end >= end), None)
        if who is None:
            piece = Piece(start, end, None, "", False)
        else:
            by_override = any(o.user_id == who.user_id and o.start <= start and o.end >= end for o in overrides)
            piece = Piece(start, end, who.user_id, who.name, by_override)
        if found and found[-1].key == piece.key and found[-1].end == start:
            found[-1] = Piece(found[-1].start, end, piece.user_id, piece.name, piece.override)
        else:
            found.append(piece)
    return found


def _utc(shift: Shift) -> Shift:
    return Shift(shift.start.astimezone(UTC), shift.end.astimezone(UTC), shift.user_id, shift.name)


def symbols(cut: Sequence[Piece]) -> dict[str, str]:
    """A capital letter per person, in the order they first appear."""
    marks: dict[str, str] = {}
    for piece in cut:
        if piece.user_id is not None and piece.user_id not in marks:
            marks[piece.user_id] = LETTERS[len(marks)] if len(marks) < len(LETTERS) else CROWD
    return marks


def mark(piece: Piece | None, marks: dict[str, str]) -> str:
    if piece is None:
        return OUTSIDE
    if piece.user_id is None:
        return GAP
    letter = marks[piece.user_id]
    return letter.lower() if piece.override else letter


def _reading(day: date, minutes: int, zone: tzinfo) -> datetime:
    """The instant the zone's clock first reads ``minutes`` past midnight of ``day``. A reading a
    spring-forward night skips maps to the jump itself (the offset before it applies)."""
    wall = datetime.combine(day, time(0)) + timedelta(minutes=minutes)
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _exists(instant: datetime, day: date, minutes: int, zone: tzinfo) -> bool:
    return instant.astimezone(zone).replace(tzinfo=None) == datetime.combine(day, time(0)) + timedelta(minutes=minutes)


def _cell(start: datetime, end: datetime, cut: Sequence[Piece]) -> Piece | None:
    """The piece covering most of [start, end) (the earliest on a tie); None if none does."""
    best, best_length = None, timedelta(0)
    for piece in cut:
        overlap = min(end, piece.end) - max(start, piece.start)
        if overlap > best_length:
            best, best_length = piece, overlap
    return best


def _days(since: datetime, until: datetime, zone: tzinfo) -> list[date]:
    first = since.astimezone(zone).date()
    last = (until - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _header(cells_per_hour: int) -> str:
    step = 6 if cells_per_hour == 1 else 3
    line = [" "] * (24 * cells_per_hour)
    for hour in range(0, 24, step):
        label = f"{hour:02d}"
        at = hour * cells_per_hour
        line[at:at + 2] = list(label)
    return "".join(line).rstrip()


def _duration(length: timedelta) -> str:
    minutes = int(length.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p) or "0 min"


def _stamp(instant: datetime, zone: tzinfo) -> str:
    return instant.astimezone(zone).strftime("%a %d %b %H:%M")


def draw(final: Sequence[Shift], overrides: Sequence[Shift], since: datetime, until: datetime, zone: tzinfo, *,
         cell_minutes: int = 30, title: str | None = None, zone_name: str | None = None) -> list[str]:
    """The schedule over [since, until) in ``zone`` as lines of text (see the module docstring)."""
    if cell_minutes <= 0 or 60 % cell_minutes:
        raise ValueError("cell_minutes must divide an hour (10, 15, 20, 30 or 60)")
    if until <= since:
        raise ValueError("the window is empty")
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    cut = pieces(final, overrides, since, until)
    marks = symbols(cut)
    cells_per_hour = 60 // cell_minutes
    label = zone_name or str(getattr(zone, "key", "") or since.astimezone(zone).tzname())
    lines = [title] if title else []
    lines.append(f"{_stamp(since, zone)} to {_stamp(until, zone)}, {label}; one cell = {cell_minutes} min")
    lines.append(" " * 11 + " " + _header(cells_per_hour))
    for day in _days(since, until, zone):
        row = []
        for n in range(24 * cells_per_hour):
            start = _reading(day, n * cell_minutes, zone)
            end = _reading(day, (n + 1) * cell_minutes, zone)
            if not _exists(start, day, n * cell_minutes, zone) or end <= start:
                row.append(OUTSIDE)  # a wall-clock time that never happens
                continue
            lo, hi = max(start, since), min(end, until)
            row.append(mark(_cell(lo, hi, cut), marks) if hi > lo else OUTSIDE)
        lines.append(f"{day:%a %d %b} |{''.join(row)}|")
    lines.append("")
    names = {p.user_id: p.name for p in cut if p.user_id is not None}
    lines += [f"  {marks[user_id]} = {names[user_id]}" for user_id in marks]
    lines.append(f"  lower case = on call through an override; {GAP} = nobody on call")
    lines.append("")
    gaps = [p for p in cut if p.user_id is None]
    covered = sum(((p.end - p.start) for p in cut if p.user_id is not None), timedelta(0))
    share = 100 * covered / (until - since)
    gap_total = sum((g.end - g.start for g in gaps), timedelta(0))
    gap_text = f"{len(gaps)} gap{'s' if len(gaps) != 1 else ''} ({_duration(gap_total)})" if gaps else "no gaps"
    lines.append(f"Shifts ({label}); covered {share:.1f} %, {gap_text}:")
    for piece in cut:
        span = f"  {_stamp(piece.start, zone)} - {_stamp(piece.end, zone)}  {mark(piece, marks)}  "
        if piece.user_id is None:
            lines.append(f"{span}nobody on call (gap, {_duration(piece.end - piece.start)})")
        else:
            lines.append(f"{span}{piece.name}{' (override)' if piece.override else ''}")
    return lines

