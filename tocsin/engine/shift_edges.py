"""Where on-call shifts start and end: the instants a handoff notice is due. Pure.

A user's shifts in one schedule are merged first: two final-schedule entries of the same user
that touch (an override ending where the user's own turn resumes) are one stretch on call, with
no handoff in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

START, END = "start", "end"


@dataclass(frozen=True, slots=True)
class Edge:
    user: str
    event: str  # START | END
    at: datetime
    shift_start: datetime  # the merged stretch the edge belongs to
    shift_end: datetime


def merged(shifts: Iterable[tuple[str, datetime, datetime]]) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each user's stretches on call: (user, start, end) intervals merged where they touch or
    overlap, in time order."""
    by_user: dict[str, list[tuple[datetime, datetime]]] = {}
    for user, start, end in sorted(shifts, key=lambda s: (s[0], s[1], s[2])):
        if end <= start:
            continue
        stretches = by_user.setdefault(user, [])
        if stretches and start <= stretches[-1][1]:
            last_start, last_end = stretches[-1]
            stretches[-1] = (last_start, max(last_end, end))
        else:
            stretches.append((start, end))
    return by_user


def edges(shifts: Iterable[tuple[str, datetime, datetime]], after: datetime, until: datetime) -> list[Edge]:
    """Every start and end of a stretch on call in the window (after, until], by time (at one
    instant ends before starts, then by user)."""
    found: list[Edge] = []
    for user, stretches in merged(shifts).items():
        for start, end in stretches:
            if after < start <= until:
                found.append(Edge(user, START, start, start, end))
            if after < end <= until:
                found.append(Edge(user, END, end, start, end))
    found.sort(key=lambda e: (e.at, e.event != END, e.user))
    return found
