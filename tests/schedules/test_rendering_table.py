"""Hand-worked rendering examples.

Dates are in January 2024 unless written in full (2024-01-01 was a Monday); all times UTC
unless a case sets a zone. Each case's comment shows the working.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

import pytest

from tocsin.errors import InvalidInput
from tocsin.schedules.oncall import (
    Entry,
    InvalidSchedule,
    Layer,
    Override,
    Restriction,
    on_call_at,
    on_call_entry_at,
    render_schedule,
)

HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY


def t(text: str) -> datetime:
    """'01-02 09:00' is 2024-01-02 09:00 UTC; a full 'YYYY-MM-DD HH:MM[:SS]' also works."""
    if len(text.split(" ")[0]) == 5:
        text = "2024-" + text
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def e(start: str, end: str, user: str) -> Entry:
    return Entry(t(start), t(end), user)


def layer(
    layer_id: str,
    users: tuple[str, ...],
    *,
    turn: int = DAY,
    vs: str = "01-01 00:00",
    start: str = "2023-01-01 00:00",
    end: str | None = None,
    restrictions: tuple[Restriction, ...] = (),
) -> Layer:
    return Layer(layer_id, t(start), None if end is None else t(end), users, t(vs), turn, restrictions)


def daily(start: str, hours: float) -> Restriction:
    return Restriction.daily(time.fromisoformat(start), int(hours * HOUR))


def weekly(day: int, start: str, hours: float) -> Restriction:
    return Restriction.weekly(day, time.fromisoformat(start), int(hours * HOUR))


def ov(start: str, end: str, user: str) -> Override:
    return Override(f"O-{start}-{user}", t(start), t(end), user)


@dataclass
class Case:
    layers: list[Layer]
    since: str
    until: str
    final: list[Entry]
    overrides: list[Override] = field(default_factory=list)
    tz: str = "UTC"
    overflow: bool = False
    coverage: float | None = None
    gaps: list[tuple[str, str]] | None = None
    layer_entries: dict[str, list[Entry]] | None = None
    effective_overrides: list[Entry] | None = None
    layer_coverage: dict[str, float] | None = None


FOLLOW_THE_SUN = [
    layer("apac", ("a1", "a2"), turn=WEEK, restrictions=(daily("00:00", 8),)),
    layer("emea", ("e1", "e2"), turn=WEEK, restrictions=(daily("08:00", 8),)),
    layer("amer", ("m1", "m2"), turn=WEEK, restrictions=(daily("16:00", 8),)),
]

CASES = {
    # Turn -1 ([12-25 09:00, 01-01 09:00)) is users[-1 % 3] = c, then a, b, c, a.
    "weekly rotation, layer starts before the virtual start": Case(
        [layer("L", ("a", "b", "c"), turn=WEEK, vs="01-01 09:00", start="01-01 00:00")],
        "01-01 00:00",
        "01-29 00:00",
        [
            e("01-01 00:00", "01-01 09:00", "c"),
            e("01-01 09:00", "01-08 09:00", "a"),
            e("01-08 09:00", "01-15 09:00", "b"),
            e("01-15 09:00", "01-22 09:00", "c"),
            e("01-22 09:00", "01-29 00:00", "a"),
        ],
        coverage=100.0,
        gaps=[],
    ),
    # 01-03 12:00 is in turn 2 -> a; turn 3 -> b; turn 4 -> a. Ends clipped to the window.
    "daily rotation, window starts and ends mid-turn": Case(
        [layer("L", ("a", "b"))],
        "01-03 12:00",
        "01-05 12:00",
        [
            e("01-03 12:00", "01-04 00:00", "a"),
            e("01-04 00:00", "01-05 00:00", "b"),
            e("01-05 00:00", "01-05 12:00", "a"),
        ],
    ),
    # 2020-01-01 .. 2024-01-01 is 1461 days = 3 * 487, so turn 1461 is a again.
    "virtual start four years back": Case(
        [layer("L", ("a", "b", "c"), vs="2020-01-01 00:00", start="2020-01-01 00:00")],
        "01-01 00:00",
        "01-03 00:00",
        [e("01-01 00:00", "01-02 00:00", "a"), e("01-02 00:00", "01-03 00:00", "b")],
    ),
    # Before the virtual start k is negative: 01-08 is k=-2 -> b, 01-09 k=-1 -> c, 01-10 k=0 -> a.
    "virtual start in the future": Case(
        [layer("L", ("a", "b", "c"), vs="01-10 00:00", start="01-01 00:00")],
        "01-08 00:00",
        "01-11 00:00",
        [
            e("01-08 00:00", "01-09 00:00", "b"),
            e("01-09 00:00", "01-10 00:00", "c"),
            e("01-10 00:00", "01-11 00:00", "a"),
        ],
    ),
    # Three restricted layers tile the day; the weekly turn is the first user everywhere.
    "follow the sun": Case(
        FOLLOW_THE_SUN,
        "01-01 00:00",
        "01-03 00:00",
        [
            e("01-01 00:00", "01-01 08:00", "a1"),
            e("01-01 08:00", "01-01 16:00", "e1"),
            e("01-01 16:00", "01-02 00:00", "m1"),
            e("01-02 00:00", "01-02 08:00", "a1"),
            e("01-02 08:00", "01-02 16:00", "e1"),
            e("01-02 16:00", "01-03 00:00", "m1"),
        ],
        coverage=100.0,
        layer_coverage={"apac": 100 / 3, "emea": 100 / 3, "amer": 100 / 3},
        layer_entries={
            "apac": [e("01-01 00:00", "01-01 08:00", "a1"), e("01-02 00:00", "01-02 08:00", "a1")],
            "emea": [e("01-01 08:00", "01-01 16:00", "e1"), e("01-02 08:00", "01-02 16:00", "e1")],
            "amer": [e("01-01 16:00", "01-02 00:00", "m1"), e("01-02 16:00", "01-03 00:00", "m1")],
        },
    ),
    # The weekly handoff at Monday 01-08 00:00 moves every region to its second user.
    "follow the sun across the weekly handoff": Case(
        FOLLOW_THE_SUN,
        "01-07 08:00",
        "01-08 16:00",
        [
            e("01-07 08:00", "01-07 16:00", "e1"),
            e("01-07 16:00", "01-08 00:00", "m1"),
            e("01-08 00:00", "01-08 08:00", "a2"),
            e("01-08 08:00", "01-08 16:00", "e2"),
        ],
    ),
    # 22:00-06:00 windows; the turn boundary at midnight splits the one starting 01-01 22:00.
    # Covered: 6 + 2 + 6 + 2 = 16 h of 48 h.
    "daily restriction crossing midnight": Case(
        [layer("L", ("a", "b"), restrictions=(daily("22:00", 8),))],
        "01-01 00:00",
        "01-03 00:00",
        [
            e("01-01 00:00", "01-01 06:00", "a"),
            e("01-01 22:00", "01-02 00:00", "a"),
            e("01-02 00:00", "01-02 06:00", "b"),
            e("01-02 22:00", "01-03 00:00", "b"),
        ],
        coverage=100 * 16 / 48,
        gaps=[("01-01 06:00", "01-01 22:00"), ("01-02 06:00", "01-02 22:00")],
    ),
    # Sunday 20:00 + 12 h runs into Monday 08:00: 8 h + 12 h + 4 h of a 336 h window.
    "weekly restriction crossing the week boundary": Case(
        [layer("L", ("a",), turn=WEEK, restrictions=(weekly(7, "20:00", 12),))],
        "01-01 00:00",
        "01-15 00:00",
        [
            e("01-01 00:00", "01-01 08:00", "a"),
            e("01-07 20:00", "01-08 08:00", "a"),
            e("01-14 20:00", "01-15 00:00", "a"),
        ],
        coverage=100 * 24 / 336,
    ),
    # Friday 01-05 is turn 4 -> a, Monday 01-08 is turn 7 -> b; nothing at the weekend.
    "weekday business hours via five weekly restrictions": Case(
        [layer("L", ("a", "b"), restrictions=tuple(weekly(d, "09:00", 8) for d in range(1, 6)))],
        "01-05 00:00",
        "01-09 00:00",
        [e("01-05 09:00", "01-05 17:00", "a"), e("01-08 09:00", "01-08 17:00", "b")],
        coverage=100 * 16 / 96,
    ),
    # A two-day weekly window: Saturday is turn 5 -> b, Sunday turn 6 -> a.
    "weekend restriction longer than a day": Case(
        [layer("L", ("a", "b"), restrictions=(weekly(6, "00:00", 48),))],
        "01-01 00:00",
        "01-08 00:00",
        [e("01-06 00:00", "01-07 00:00", "b"), e("01-07 00:00", "01-08 00:00", "a")],
    ),
    # 09:00-17:00 in New York in January (UTC-5) is 14:00-22:00 UTC.
    "restriction in the schedule's time zone": Case(
        [layer("L", ("a",), restrictions=(daily("09:00", 8),))],
        "01-01 00:00",
        "01-02 00:00",
        [e("01-01 14:00", "01-01 22:00", "a")],
        tz="America/New_York",
    ),
    # 09:00+4h and 12:00+4h overlap; their union is 09:00-16:00.
    "overlapping restrictions are united": Case(
        [layer("L", ("a",), restrictions=(daily("09:00", 4), daily("12:00", 4)))],
        "01-01 00:00",
        "01-02 00:00",
        [e("01-01 09:00", "01-01 16:00", "a")],
    ),
    # Turns of 5 h from midnight: a 00-05, b 05-10, c 10-15, a 15-20, b 20-01, c 01-06,
    # a 06-11, b 11-16, c 16-21; cut to 09:00-17:00 each day.
    "turns that do not divide the day, with a restriction": Case(
        [layer("L", ("a", "b", "c"), turn=5 * HOUR, restrictions=(daily("09:00", 8),))],
        "01-01 00:00",
        "01-03 00:00",
        [
            e("01-01 09:00", "01-01 10:00", "b"),
            e("01-01 10:00", "01-01 15:00", "c"),
            e("01-01 15:00", "01-01 17:00", "a"),
            e("01-02 09:00", "01-02 11:00", "a"),
            e("01-02 11:00", "01-02 16:00", "b"),
            e("01-02 16:00", "01-02 17:00", "c"),
        ],
    ),
    # A 24-hour restriction starting 06:00 covers everything; its seams must not split turns.
    "24-hour restriction leaves turns whole": Case(
        [
            layer(
                "L",
                ("a", "b"),
                turn=12 * HOUR,
                vs="01-01 09:00",
                restrictions=(daily("06:00", 24),),
            )
        ],
        "01-01 00:00",
        "01-02 00:00",
        [
            e("01-01 00:00", "01-01 09:00", "b"),
            e("01-01 09:00", "01-01 21:00", "a"),
            e("01-01 21:00", "01-02 00:00", "b"),
        ],
        coverage=100.0,
    ),
    "one-second turns": Case(
        [layer("L", ("a", "b"), turn=1)],
        "01-01 00:00:00",
        "01-01 00:00:04",
        [
            e("01-01 00:00:00", "01-01 00:00:01", "a"),
            e("01-01 00:00:01", "01-01 00:00:02", "b"),
            e("01-01 00:00:02", "01-01 00:00:03", "a"),
            e("01-01 00:00:03", "01-01 00:00:04", "b"),
        ],
    ),
    "override splits a shift": Case(
        [layer("L", ("a",))],
        "01-01 00:00",
        "01-02 00:00",
        [
            e("01-01 00:00", "01-01 10:00", "a"),
            e("01-01 10:00", "01-01 12:00", "b"),
            e("01-01 12:00", "01-02 00:00", "a"),
        ],
        overrides=[ov("01-01 10:00", "01-01 12:00", "b")],
        layer_entries={"L": [e("01-01 00:00", "01-02 00:00", "a")]},
        effective_overrides=[e("01-01 10:00", "01-01 12:00", "b")],
        layer_coverage={"L": 100.0},
    ),
    "override for the user already on call merges": Case(
        [layer("L", ("a",))],
        "01-01 00:00",
        "01-02 00:00",
        [e("01-01 00:00", "01-02 00:00", "a")],
        overrides=[ov("01-01 10:00", "01-01 12:00", "a")],
    ),
    # The later override (c) wins where the two overlap.
    "overlapping overrides: later one wins": Case(
        [layer("L", ("a",))],
        "01-01 00:00",
        "01-02 00:00",
        [
            e("01-01 00:00", "01-01 08:00", "a"),
            e("01-01 08:00", "01-01 10:00", "b"),
            e("01-01 10:00", "01-01 12:00", "c"),
            e("01-01 12:00", "01-01 14:00", "b"),
            e("01-01 14:00", "01-02 00:00", "a"),
        ],
        overrides=[ov("01-01 08:00", "01-01 14:00", "b"), ov("01-01 10:00", "01-01 12:00", "c")],
        effective_overrides=[
            e("01-01 08:00", "01-01 10:00", "b"),
            e("01-01 10:00", "01-01 12:00", "c"),
            e("01-01 12:00", "01-01 14:00", "b"),
        ],
    ),
    # Same overrides created in the other order: the wide one, created last, hides the other.
    "overlapping overrides: later wide one hides earlier": Case(
        [layer("L", ("a",))],
        "01-01 00:00",
        "01-02 00:00",
        [
            e("01-01 00:00", "01-01 08:00", "a"),
            e("01-01 08:00", "01-01 14:00", "b"),
            e("01-01 14:00", "01-02 00:00", "a"),
        ],
        overrides=[ov("01-01 10:00", "01-01 12:00", "c"), ov("01-01 08:00", "01-01 14:00", "b")],
        effective_overrides=[e("01-01 08:00", "01-01 14:00", "b")],
    ),
    # An override fills part of a gap left by a restriction: 8 h + 3 h of 24 h.
    "override in a gap": Case(
        [layer("L", ("a",), restrictions=(daily("09:00", 8),))],
        "01-01 00:00",
        "01-02 00:00",
        [e("01-01 09:00", "01-01 17:00", "a"), e("01-01 20:00", "01-01 23:00", "b")],
        overrides=[ov("01-01 20:00", "01-01 23:00", "b")],
        coverage=100 * 11 / 24,
        gaps=[
            ("01-01 00:00", "01-01 09:00"),
            ("01-01 17:00", "01-01 20:00"),
            ("01-01 23:00", "01-02 00:00"),
        ],
    ),
    "override starting before the window is clipped": Case(
        [layer("L", ("a",))],
        "01-01 00:00",
        "01-02 00:00",
        [e("01-01 00:00", "01-01 02:00", "b"), e("01-01 02:00", "01-02 00:00", "a")],
        overrides=[ov("2023-12-31 20:00", "01-01 02:00", "b")],
        effective_overrides=[e("01-01 00:00", "01-01 02:00", "b")],
    ),
    "later layer beats earlier inside its restriction": Case(
        [layer("base", ("a",)), layer("day", ("b",), restrictions=(daily("09:00", 8),))],
        "01-01 00:00",
        "01-02 00:00",
        [
            e("01-01 00:00", "01-01 09:00", "a"),
            e("01-01 09:00", "01-01 17:00", "b"),
            e("01-01 17:00", "01-02 00:00", "a"),
        ],
    ),
    "earlier layer hidden entirely by an unrestricted later one": Case(
        [layer("day", ("a",), restrictions=(daily("09:00", 8),)), layer("all", ("b",))],
        "01-01 00:00",
        "01-02 00:00",
        [e("01-01 00:00", "01-02 00:00", "b")],
        layer_entries={
            "day": [e("01-01 09:00", "01-01 17:00", "a")],
            "all": [e("01-01 00:00", "01-02 00:00", "b")],
        },
        layer_coverage={"day": 100 / 3, "all": 100.0},
    ),
    "layer with an end inside the window": Case(
        [layer("base", ("a",)), layer("temp", ("b",), start="01-01 00:00", end="01-01 12:00")],
        "01-01 00:00",
        "01-02 00:00",
        [e("01-01 00:00", "01-01 12:00", "b"), e("01-01 12:00", "01-02 00:00", "a")],
        layer_coverage={"base": 100.0, "temp": 50.0},
    ),
    "layer ended in the past contributes nothing": Case(
        [layer("base", ("a",)), layer("old", ("b",), end="2023-12-01 00:00")],
        "01-01 00:00",
        "01-02 00:00",
        [e("01-01 00:00", "01-02 00:00", "a")],
        layer_entries={"base": [e("01-01 00:00", "01-02 00:00", "a")], "old": []},
        layer_coverage={"base": 100.0, "old": 0.0},
    ),
    "layer starting inside the window": Case(
        [layer("base", ("a",)), layer("new", ("b",), start="01-01 18:00")],
        "01-01 00:00",
        "01-02 00:00",
        [e("01-01 00:00", "01-01 18:00", "a"), e("01-01 18:00", "01-02 00:00", "b")],
    ),
    # Editing a layer ends the old version and starts a new one: b was removed on 01-03.
    # Old: 01-01 a, 01-02 b. New, rotating (a, c) from 01-03: a, c, a.
    "user removed from a layer": Case(
        [
            layer("v1", ("a", "b", "c"), start="01-01 00:00", end="01-03 00:00"),
            layer("v2", ("a", "c"), vs="01-03 00:00", start="01-03 00:00"),
        ],
        "01-01 00:00",
        "01-06 00:00",
        [
            e("01-01 00:00", "01-02 00:00", "a"),
            e("01-02 00:00", "01-03 00:00", "b"),
            e("01-03 00:00", "01-04 00:00", "a"),
            e("01-04 00:00", "01-05 00:00", "c"),
            e("01-05 00:00", "01-06 00:00", "a"),
        ],
    ),
    "layer with no users contributes nothing": Case(
        [layer("base", ("a",)), layer("empty", ())],
        "01-01 00:00",
        "01-02 00:00",
        [e("01-01 00:00", "01-02 00:00", "a")],
        layer_entries={"base": [e("01-01 00:00", "01-02 00:00", "a")], "empty": []},
    ),
    # a 09-17 and b 12-20: b (later) wins 12-17, so a 09-12 and b 12-20; 11 h of 24.
    "gaps and coverage": Case(
        [
            layer("x", ("a",), restrictions=(daily("09:00", 8),)),
            layer("y", ("b",), restrictions=(daily("12:00", 8),)),
        ],
        "01-01 00:00",
        "01-02 00:00",
        [e("01-01 09:00", "01-01 12:00", "a"), e("01-01 12:00", "01-01 20:00", "b")],
        coverage=100 * 11 / 24,
        gaps=[("01-01 00:00", "01-01 09:00"), ("01-01 20:00", "01-02 00:00")],
        layer_coverage={"x": 100 * 8 / 24, "y": 100 * 8 / 24},
    ),
    "nothing at all": Case(
        [],
        "01-01 00:00",
        "01-02 00:00",
        [],
        coverage=0.0,
        gaps=[("01-01 00:00", "01-02 00:00")],
    ),
    "empty window": Case(
        [layer("L", ("a",))],
        "01-02 00:00",
        "01-01 00:00",
        [],
        coverage=0.0,
        gaps=[],
        layer_entries={"L": []},
    ),
    # Overflow: the day-long turns crossing both edges come back whole; coverage stays 100.
    "overflow returns whole turns": Case(
        [layer("L", ("a", "b"))],
        "01-02 06:00",
        "01-03 06:00",
        [e("01-02 00:00", "01-03 00:00", "b"), e("01-03 00:00", "01-04 00:00", "a")],
        overflow=True,
        coverage=100.0,
        layer_entries={
            "L": [e("01-02 00:00", "01-03 00:00", "b"), e("01-03 00:00", "01-04 00:00", "a")]
        },
    ),
    "overflow with a restriction returns the restricted shift": Case(
        [layer("L", ("a", "b"), restrictions=(daily("09:00", 8),))],
        "01-02 12:00",
        "01-02 13:00",
        [e("01-02 09:00", "01-02 17:00", "b")],
        overflow=True,
        coverage=100.0,
    ),
    # Users (a, a, b): a's turns 0 and 1 are one two-day shift.
    "overflow returns merged consecutive turns of one user": Case(
        [layer("L", ("a", "a", "b"))],
        "01-01 12:00",
        "01-01 13:00",
        [e("01-01 00:00", "01-03 00:00", "a")],
        overflow=True,
    ),
    "overflow returns whole overrides": Case(
        [layer("L", ("a", "c"))],
        "01-01 00:00",
        "01-01 01:00",
        [e("2023-12-31 20:00", "01-01 02:00", "b")],
        overrides=[ov("2023-12-31 20:00", "01-01 02:00", "b")],
        overflow=True,
        coverage=100.0,
        effective_overrides=[e("2023-12-31 20:00", "01-01 02:00", "b")],
        layer_entries={"L": [e("01-01 00:00", "01-02 00:00", "a")]},
    ),
    # Nothing crosses either edge: overflow changes nothing, and every layer is still listed.
    "overflow with no shift crossing the edges": Case(
        [
            layer("L", ("a",), restrictions=(daily("09:00", 8),)),
            layer("M", ("b",), end="2023-06-01 00:00"),
        ],
        "01-01 08:00",
        "01-01 18:00",
        [e("01-01 09:00", "01-01 17:00", "a")],
        overflow=True,
        coverage=80.0,
        layer_entries={"L": [e("01-01 09:00", "01-01 17:00", "a")], "M": []},
    ),
    # Without overflow the same override is truncated at the window edge.
    "truncation without overflow": Case(
        [layer("L", ("a", "c"))],
        "01-01 00:00",
        "01-01 01:00",
        [e("01-01 00:00", "01-01 01:00", "b")],
        overrides=[ov("2023-12-31 20:00", "01-01 02:00", "b")],
        layer_entries={"L": [e("01-01 00:00", "01-01 01:00", "a")]},
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_rendering(case: Case) -> None:
    result = render_schedule(
        case.layers, case.overrides, case.tz, t(case.since), t(case.until), overflow=case.overflow
    )
    assert result.final == case.final
    assert list(result.layers) == [layer.id for layer in case.layers]
    if case.layer_entries is not None:
        assert result.layers == case.layer_entries
    if case.effective_overrides is not None:
        assert result.overrides == case.effective_overrides
    if case.coverage is not None:
        assert result.final_coverage == pytest.approx(case.coverage)
    if case.layer_coverage is not None:
        assert result.layer_coverage == pytest.approx(case.layer_coverage)
    if case.gaps is not None:
        assert result.gaps == [(t(start), t(end)) for start, end in case.gaps]
    for entry in [
        *result.final,
        *result.overrides,
        *(x for v in result.layers.values() for x in v),
    ]:
        assert entry.start.utcoffset() == entry.end.utcoffset() == UTC.utcoffset(None)
        assert entry.start < entry.end


def test_inputs_in_other_offsets_give_utc_output() -> None:
    start = datetime.fromisoformat("2024-01-01T09:00:00+05:30")
    only = Layer("L", start, None, ("a",), start, DAY)
    result = render_schedule(
        [only], [], "Asia/Kolkata", start, datetime.fromisoformat("2024-01-01T10:00:00+05:30")
    )
    assert result.final == [e("01-01 03:30", "01-01 04:30", "a")]


def test_on_call_at() -> None:
    layers = [layer("base", ("a", "b")), layer("day", ("c",), restrictions=(daily("09:00", 8),))]
    overrides = [ov("01-02 10:00", "01-02 11:00", "z")]
    assert on_call_at(layers, overrides, "UTC", t("01-01 08:59")) == "a"
    assert on_call_at(layers, overrides, "UTC", t("01-01 09:00")) == "c"
    assert on_call_at(layers, overrides, "UTC", t("01-02 10:30")) == "z"
    assert on_call_at(layers, overrides, "UTC", t("01-02 11:00")) == "c"
    assert on_call_at(layers, overrides, "UTC", t("01-02 17:00")) == "b"
    assert on_call_at([layers[1]], [], "UTC", t("01-02 18:00")) is None


def test_on_call_entry_at_returns_the_whole_shift() -> None:
    layers = [layer("base", ("a", "b")), layer("day", ("c",), restrictions=(daily("09:00", 8),))]
    assert on_call_entry_at(layers, [], "UTC", t("01-02 20:00")) == e(
        "01-02 17:00", "01-03 00:00", "b"
    )
    assert on_call_entry_at(layers, [], "UTC", t("01-02 12:00")) == e(
        "01-02 09:00", "01-02 17:00", "c"
    )
    assert on_call_entry_at([layers[1]], [], "UTC", t("01-02 20:00")) is None


def test_overflow_stops_at_the_horizon_for_endless_shifts() -> None:
    endless = layer("L", ("a",), start="2023-12-01 00:00")
    result = render_schedule(
        [endless], [], "UTC", t("01-10 00:00"), t("01-11 00:00"), overflow=True
    )
    [entry] = result.final
    assert entry.start == t("2023-12-01 00:00")  # the layer's start, nearer than the horizon
    assert entry.end == t("2025-01-11 00:00")  # 2024-01-11 + 366 days: cut at the horizon
    assert result.final_coverage == 100.0


@pytest.mark.parametrize(
    "build",
    [
        lambda: Layer("L", datetime(2024, 1, 1), None, ("a",), t("01-01 00:00"), DAY),
        lambda: Layer("L", t("01-01 00:00"), None, ("a",), t("01-01 00:00"), 0),
        lambda: Restriction("weekly_restriction", time(9), HOUR),
        lambda: Restriction("weekly_restriction", time(9), HOUR, 8),
        lambda: Restriction("daily_restriction", time(9), -1),
        lambda: Restriction("monthly_restriction", time(9), HOUR),  # type: ignore[arg-type]  # wrong on purpose
        lambda: Override("O", t("01-01 00:00"), datetime(2024, 1, 2), "a"),
        lambda: render_schedule(
            [layer("L", ("a",)), layer("L", ("b",))], [], "UTC", t("01-01 00:00"), t("01-02 00:00")
        ),
        lambda: render_schedule([], [], "Mars/Olympus_Mons", t("01-01 00:00"), t("01-02 00:00")),
        lambda: render_schedule([], [], "UTC", datetime(2024, 1, 1), t("01-02 00:00")),
    ],
)
def test_invalid_inputs_are_refused(build: Callable[[], object]) -> None:
    # A 400 (code 2001) if it reaches the API; a ValueError to code holding validated data.
    with pytest.raises(InvalidSchedule) as caught:
        build()
    assert issubclass(InvalidSchedule, InvalidInput) and issubclass(InvalidSchedule, ValueError)
    assert caught.value.code == 2001
