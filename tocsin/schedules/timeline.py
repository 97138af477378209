"""Integer-microsecond interval arithmetic used by the renderer.

Rendering a year of a busy schedule touches tens of thousands of boundaries; doing that with
aware ``datetime`` objects costs an order of magnitude more than with plain ints, so the renderer
works in microseconds since the Unix epoch and converts only at the edges. Microseconds (not
seconds) keep sub-second inputs exact.

A ``Span`` is a half-open ``(start, end)``; a ``Piece`` is a span with the user on call.
Lists of spans or pieces are kept sorted by start and non-overlapping unless stated otherwise.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

Span = tuple[int, int]
Piece = tuple[int, int, str]

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
FAR_FUTURE = 2**62  # stands in for "no end"; far beyond any datetime, still a cheap int

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(value: datetime) -> int:
    return (value - _EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class DatetimeCache:
    """Converts microseconds back to UTC datetimes, once per distinct boundary.

    Adjacent entries share boundaries and the final schedule reuses layer boundaries, so caching
    roughly halves the conversions when building the output.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[int, datetime] = {}

    def __call__(self, value: int) -> datetime:
        found = self._seen.get(value)
        if found is None:
            found = self._seen[value] = _EPOCH + timedelta(microseconds=value)
        return found


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint union; touching spans are joined so coverage has no zero-width seams."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def clip_spans(spans: list[Span], lo: int, hi: int) -> list[Span]:
    return [(max(s, lo), min(e, hi)) for s, e in spans if s < hi and e > lo]


def merge_adjacent(pieces: Iterable[Piece]) -> list[Piece]:
    """Join consecutive pieces of the same user that touch: one shift, one entry."""
    out: list[Piece] = []
    for piece in pieces:
        if out:
            last = out[-1]
            if last[2] == piece[2] and last[1] == piece[0]:
                out[-1] = (last[0], piece[1], last[2])
                continue
        out.append(piece)
    return out


def subtract(pieces: list[Piece], covered: list[Span]) -> list[Piece]:
    """The parts of ``pieces`` outside ``covered``; both sorted, each internally disjoint."""
    out: list[Piece] = []
    j = 0
    count = len(covered)
    for start, end, user in pieces:
        # Pieces are sorted and disjoint, so spans ending before this piece can never matter again.
        while j < count and covered[j][1] <= start:
            j += 1
        cursor = start
        k = j
        while k < count and covered[k][0] < end:
            c_start, c_end = covered[k]
            if c_start > cursor:
                out.append((cursor, c_start, user))
            if c_end > cursor:
                cursor = c_end
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            out.append((cursor, end, user))
    return out


def total_length(spans: Iterable[Span], lo: int, hi: int) -> int:
    return sum(min(e, hi) - max(s, lo) for s, e in spans if s < hi and e > lo)


def complement(covered: list[Span], lo: int, hi: int) -> list[Span]:
    """The parts of [lo, hi) not in ``covered`` (sorted, disjoint)."""
    out: list[Span] = []
    cursor = lo
    for start, end in covered:
        if end <= cursor:
            continue
        if start >= hi:
            break
        if start > cursor:
            out.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < hi:
        out.append((cursor, hi))
    return out


class SpanSet:
    """A growing set of disjoint spans supporting "what part of [s, e) is still free?".

    Used for overrides, which arrive one at a time in priority order and may overlap each other;
    bisect keeps each step logarithmic plus the overlap, instead of re-sorting everything.
    """

    __slots__ = ("ends", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def free_parts(self, start: int, end: int) -> list[Span]:
        out: list[Span] = []
        starts, ends = self.starts, self.ends
        k = bisect_right(ends, start)  # first span ending after ``start``
        cursor = start
        while k < len(starts) and starts[k] < end:
            if starts[k] > cursor:
                out.append((cursor, starts[k]))
            cursor = max(cursor, ends[k])
            k += 1
        if cursor < end:
            out.append((cursor, end))
        return out

    def add(self, start: int, end: int) -> None:
        i = bisect_left(self.ends, start)  # spans touching or overlapping from the left
        j = bisect_right(self.starts, end)  # ... up to those touching from the right
        if i < j:
            start = min(start, self.starts[i])
            end = max(end, self.ends[j - 1])
        self.starts[i:j] = [start]
        self.ends[i:j] = [end]

    def spans(self) -> list[Span]:
        return list(zip(self.starts, self.ends, strict=True))
