"""An escalation policy frozen onto an incident, and where its escalation goes next (pure).

``freeze`` copies a policy's levels (delay, assignment strategy, targets) into the JSON kept in
``IncidentEscalation.path``: editing the policy later never changes a running escalation.
``after_level`` is PagerDuty's rule for what happens when a level's delay passes unacknowledged:
the next level; after the last level, level 1 again, ``num_loops`` times; then the escalation
stops (exhausts) and the last assignees keep the incident. So a path of L levels escalates
L * (num_loops + 1) - 1 times before it exhausts (a one-level policy that never loops exhausts
after its delay).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypedDict

from tocsin.escalation.round_robin import ASSIGN_TO_EVERYONE
from tocsin.escalation.round_robin import round_robin_pick as round_robin_pick  # the engine's turn-taking rule


class PathTarget(TypedDict):
    type: str  # "user" | "schedule"
    id: str


class PathRule(TypedDict):
    id: str
    delay_minutes: int
    strategy: str  # "assign_to_everyone" | "round_robin"
    targets: list[PathTarget]


class Path(TypedDict):
    num_loops: int
    rules: list[PathRule]


EMPTY_PATH: Path = {"num_loops": 0, "rules": []}


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One level of a policy as the escalation domain stores it."""

    id: str
    delay_minutes: int
    targets: tuple[tuple[str, str], ...]  # (type "user" | "schedule", id), in target order
    strategy: str = ASSIGN_TO_EVERYONE


def freeze(num_loops: int, rules: Iterable[PolicyRule]) -> Path:
    """The path an incident escalates along: plain JSON, every level in order."""
    return {
        "num_loops": max(0, num_loops),
        "rules": [
            {"id": r.id, "delay_minutes": r.delay_minutes, "strategy": r.strategy,
             "targets": [{"type": kind, "id": target_id} for kind, target_id in r.targets]}
            for r in rules
        ],
    }


def levels(path: Path) -> int:
    return len(path["rules"])


def clamp_level(path: Path, level: int) -> int:
    """``level`` within the path (a level number from elsewhere may run past a shorter path)."""
    return min(max(level, 1), max(levels(path), 1))


def rule_at(path: Path, level: int) -> PathRule | None:
    """The rule of ``level`` (1-based); None on an empty path."""
    if not path["rules"]:
        return None
    return path["rules"][clamp_level(path, level) - 1]


def delay_of(path: Path, level: int) -> timedelta | None:
    rule = rule_at(path, level)
    return None if rule is None else timedelta(minutes=rule["delay_minutes"])


@dataclass(frozen=True, slots=True)
class EscalateTo:
    level: int


@dataclass(frozen=True, slots=True)
class Repeat:
    loop: int  # the repeat about to start: 1 for the first


@dataclass(frozen=True, slots=True)
class Exhaust:
    pass


Next = EscalateTo | Repeat | Exhaust


def after_level(path: Path, level: int, loop: int) -> Next:
    """What happens when ``level``'s delay passes unacknowledged in repeat ``loop`` (0: the first
    pass). A repeat starts again at level 1."""
    if not path["rules"]:
        return Exhaust()
    level = clamp_level(path, level)
    if level < levels(path):
        return EscalateTo(level + 1)
    if loop < path["num_loops"]:
        return Repeat(loop + 1)
    return Exhaust()


def targets_of(path: Path, level: int) -> Sequence[PathTarget]:
    rule = rule_at(path, level)
    return () if rule is None else rule["targets"]
