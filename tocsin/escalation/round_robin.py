"""Whose turn it is on a round-robin escalation rule (pure).

A rule with ``escalation_rule_assignment_strategy`` round_robin assigns one of its on-call users
per incident, in turn, instead of all of them. The rule's position is kept in
``escalation.models.RoundRobinPosition``; this module only decides.
"""

from __future__ import annotations

from collections.abc import Sequence

ROUND_ROBIN = "round_robin"
ASSIGN_TO_EVERYONE = "assign_to_everyone"
STRATEGIES = (ASSIGN_TO_EVERYONE, ROUND_ROBIN)


def round_robin_pick(users: Sequence[str], position: int) -> tuple[str | None, int]:
    """The user at ``position`` (wrapping around) and the position of the next turn. Nobody to
    pick (an empty level): (None, ``position``), so the turn is not used up."""
    if not users:
        return None, position
    index = position % len(users)
    return users[index], (index + 1) % len(users)


def round_robin_picks(users: Sequence[str], position: int, count: int) -> tuple[list[str], int]:
    """``count`` turns in a row (one per incident of a batch) and the next position; [] when
    there is nobody to pick."""
    picked: list[str] = []
    for _ in range(count if users else 0):
        user, position = round_robin_pick(users, position)
        assert user is not None
        picked.append(user)
    return picked, position


def assignees(strategy: str, users: Sequence[str], position: int) -> tuple[tuple[str, ...], int]:
    """Who a level assigns under ``strategy`` and the rule's next position (unchanged unless a
    round-robin turn was taken)."""
    if strategy != ROUND_ROBIN:
        return tuple(users), position
    user, position = round_robin_pick(users, position)
    return ((user,) if user is not None else ()), position
