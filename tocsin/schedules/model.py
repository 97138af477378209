"""Value types for schedule rendering: layers, restrictions and overrides in, entries out.

Inputs are validated on construction, so the renderer never has to re-check them.
All datetimes are timezone-aware; outputs are always in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

from tocsin.errors import InvalidInput

RestrictionType = Literal["daily_restriction", "weekly_restriction"]

SECONDS_PER_DAY = 86_400


class InvalidSchedule(InvalidInput, ValueError):
    """Schedule input that cannot be rendered.

    An ``InvalidInput`` so that a route passing client data straight through answers 400 (code
    2001); also a ``ValueError`` because, for callers holding already-validated data, it is one.
    """


def require_aware(name: str, value: datetime) -> None:
    """Naive datetimes are ambiguous across zones, so they are refused rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidSchedule(f"{name} must be timezone-aware, got {value!r}")


@dataclass(frozen=True, slots=True)
class Restriction:
    """A recurring local wall-clock window during which a layer may have someone on call.

    ``start_day_of_week`` is ISO (1=Monday .. 7=Sunday) and only used by weekly restrictions;
    daily restrictions ignore it because API clients often send it anyway.
    """

    type: RestrictionType
    start_time_of_day: time
    duration_seconds: int
    start_day_of_week: int | None = None

    def __post_init__(self) -> None:
        if self.type not in ("daily_restriction", "weekly_restriction"):
            raise InvalidSchedule(f"unknown restriction type {self.type!r}")
        if self.start_time_of_day.tzinfo is not None:
            raise InvalidSchedule("start_time_of_day is a local wall-clock time and must be naive")
        if self.duration_seconds < 0:
            raise InvalidSchedule("duration_seconds must be >= 0")
        if self.type == "weekly_restriction" and self.start_day_of_week not in range(1, 8):
            raise InvalidSchedule("weekly_restriction needs start_day_of_week in 1..7")

    @classmethod
    def daily(cls, start_time_of_day: time, duration_seconds: int) -> Restriction:
        return cls("daily_restriction", start_time_of_day, duration_seconds)

    @classmethod
    def weekly(
        cls, start_day_of_week: int, start_time_of_day: time, duration_seconds: int
    ) -> Restriction:
        return cls("weekly_restriction", start_time_of_day, duration_seconds, start_day_of_week)


@dataclass(frozen=True, slots=True)
class Layer:
    """One rotation: ``users`` take turns of ``rotation_turn_length_seconds`` each.

    The turn arithmetic is in ``rotation``; restrictions are in ``restrictions``.

    ``end=None`` means the layer never ends. A layer whose ``end`` is not after ``start``, or whose
    user list is empty, contributes nothing rather than raising: such rows exist in real data.
    """

    id: str
    start: datetime
    end: datetime | None
    users: tuple[str, ...]
    rotation_virtual_start: datetime
    rotation_turn_length_seconds: int
    restrictions: tuple[Restriction, ...] = ()
    # The zone this layer's restrictions are read in; None: the schedule's. A schedule whose zone
    # changed keeps its older layer versions in the zone they were defined in (history).
    time_zone: str | None = None

    def __post_init__(self) -> None:
        require_aware("start", self.start)
        require_aware("rotation_virtual_start", self.rotation_virtual_start)
        if self.end is not None:
            require_aware("end", self.end)
        if self.rotation_turn_length_seconds < 1:
            raise InvalidSchedule("rotation_turn_length_seconds must be >= 1")
        # Callers naturally pass lists; tuples keep the value hashable and immutable.
        object.__setattr__(self, "users", tuple(self.users))
        object.__setattr__(self, "restrictions", tuple(self.restrictions))


@dataclass(frozen=True, slots=True)
class Override:
    """``user`` is on call for [start, end), above every layer. Empty intervals are ignored."""

    id: str
    start: datetime
    end: datetime
    user: str

    def __post_init__(self) -> None:
        require_aware("start", self.start)
        require_aware("end", self.end)


@dataclass(frozen=True, slots=True)
class Entry:
    """``user`` is on call for the half-open interval [start, end); both are UTC-aware."""

    start: datetime
    end: datetime
    user: str


@dataclass(frozen=True, slots=True)
class RenderedSchedule:
    """Every sub-schedule of one schedule over [since, until).

    Coverage figures are percentages (0-100, unrounded) of the requested window, computed from the
    clipped entries even when the entries themselves were rendered with ``overflow``.
    ``overrides`` holds the effective overrides: where overrides overlap, the later one's user.
    """

    since: datetime
    until: datetime
    layers: dict[str, list[Entry]]
    layer_coverage: dict[str, float]
    overrides: list[Entry]
    overrides_coverage: float
    final: list[Entry]
    final_coverage: float
    gaps: list[tuple[datetime, datetime]]
