"""The frozen escalation path and what follows a level (tocsin.engine.path): PagerDuty's rule,
checked directly and as properties over random policies."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.engine.path import (
    EMPTY_PATH,
    EscalateTo,
    Exhaust,
    Path,
    PolicyRule,
    Repeat,
    after_level,
    delay_of,
    freeze,
    round_robin_pick,
    rule_at,
)
from tocsin.escalation.round_robin import assignees, round_robin_picks


def path_of(levels: int, num_loops: int) -> Path:
    return freeze(num_loops, [PolicyRule(f"R{n}", 5 + n, (("user", f"U{n}"),)) for n in range(levels)])


def walk(path: Path) -> list[EscalateTo | Repeat | Exhaust]:
    """Every step of an escalation left unacknowledged, from level 1 to its end."""
    level, loop, steps = 1, 0, []
    for _ in range(1000):
        step = after_level(path, level, loop)
        steps.append(step)
        if isinstance(step, Exhaust):
            return steps
        if isinstance(step, Repeat):
            level, loop = 1, step.loop
        else:
            level = step.level
    raise AssertionError("the escalation never ended")


def test_freeze_copies_levels_in_order_with_their_targets_and_strategy() -> None:
    path = freeze(2, [PolicyRule("R1", 10, (("user", "U1"), ("schedule", "S1"))),
                      PolicyRule("R2", 30, (("schedule", "S2"),), "round_robin")])
    assert path == {"num_loops": 2, "rules": [
        {"id": "R1", "delay_minutes": 10, "strategy": "assign_to_everyone",
         "targets": [{"type": "user", "id": "U1"}, {"type": "schedule", "id": "S1"}]},
        {"id": "R2", "delay_minutes": 30, "strategy": "round_robin", "targets": [{"type": "schedule", "id": "S2"}]},
    ]}
    assert rule_at(path, 2) == path["rules"][1]
    assert str(delay_of(path, 1)) == "0:10:00"


def test_three_levels_two_loops_escalate_repeat_then_exhaust() -> None:
    assert walk(path_of(3, 2)) == [
        EscalateTo(2), EscalateTo(3), Repeat(1), EscalateTo(2), EscalateTo(3), Repeat(2), EscalateTo(2),
        EscalateTo(3), Exhaust()]


def test_a_one_level_policy_without_loops_exhausts_after_its_delay() -> None:
    assert after_level(path_of(1, 0), 1, 0) == Exhaust()
    assert walk(path_of(1, 3)) == [Repeat(1), Repeat(2), Repeat(3), Exhaust()]


def test_an_empty_path_exhausts_and_a_level_past_the_path_counts_as_its_last() -> None:
    assert after_level(EMPTY_PATH, 1, 0) == Exhaust()
    assert delay_of(EMPTY_PATH, 1) is None
    assert after_level(path_of(2, 0), 7, 0) == Exhaust()  # level 7 of a 2-level path: its last


@settings(max_examples=200, deadline=None)
@given(levels=st.integers(1, 12), num_loops=st.integers(0, 9))
def test_escalations_before_exhaust_are_levels_times_passes_minus_one(levels: int, num_loops: int) -> None:
    steps = walk(path_of(levels, num_loops))
    moves = [s for s in steps if not isinstance(s, Exhaust)]
    assert len(moves) == levels * (num_loops + 1) - 1  # each move assigns a level: never beyond
    assert isinstance(steps[-1], Exhaust) and steps.count(Exhaust()) == 1
    assert [s.loop for s in steps if isinstance(s, Repeat)] == list(range(1, num_loops + 1))
    assert all(1 < s.level <= levels for s in steps if isinstance(s, EscalateTo))


@settings(max_examples=200, deadline=None)
@given(levels=st.integers(1, 12), num_loops=st.integers(0, 9), level=st.integers(1, 12), loop=st.integers(0, 9))
def test_after_any_level_the_path_moves_forward_or_ends(levels: int, num_loops: int, level: int, loop: int) -> None:
    step = after_level(path_of(levels, num_loops), min(level, levels), min(loop, num_loops))
    if isinstance(step, EscalateTo):
        assert step.level == min(level, levels) + 1 <= levels
    elif isinstance(step, Repeat):
        assert level >= levels and step.loop == min(loop, num_loops) + 1 <= num_loops
    else:
        assert level >= levels and min(loop, num_loops) == num_loops


def test_round_robin_takes_turns_and_wraps() -> None:
    assert round_robin_pick(["a", "b", "c"], 0) == ("a", 1)
    assert round_robin_pick(["a", "b", "c"], 2) == ("c", 0)
    assert round_robin_pick(["a", "b"], 5) == ("b", 0)  # a position from a longer list wraps
    assert round_robin_pick([], 4) == (None, 4)  # nobody: the turn is not used up
    assert assignees("round_robin", ["a", "b"], 1) == (("b",), 0)
    assert assignees("assign_to_everyone", ["a", "b"], 1) == (("a", "b"), 1)


@settings(max_examples=200, deadline=None)
@given(users=st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=8, unique=True),
       position=st.integers(0, 50), count=st.integers(0, 40))
def test_round_robin_turns_are_fair(users: list[str], position: int, count: int) -> None:
    picked, following = round_robin_picks(users, position, count)
    assert len(picked) == count
    counts = [picked.count(u) for u in users]
    assert max(counts) - min(counts) <= 1  # everyone's turn comes before anyone's second
    assert all(a != b for a, b in pairwise(picked)) or len(users) == 1
    assert 0 <= following < len(users) if count else following == position  # no turn taken: unchanged
    again, _ = round_robin_picks(users, following, 1)
    assert picked == [] or again == [users[(users.index(picked[-1]) + 1) % len(users)]]
