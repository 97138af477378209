"""Login throttling, decided from a few stored numbers. Pure: no I/O.

Each failed sign-in counts against two keys: the account (``account:<email>``, even one that
does not exist, so probing addresses costs the same) and the client address. After
``FREE_FAILURES`` failures a key is locked for ``BASE_LOCK``, doubling with every further failure
up to ``MAX_LOCK``; while locked, sign-in is refused without checking the password. A key
forgets its failures once ``FORGET_AFTER`` passes without one. Success clears the account's key,
not the address's: an attacker signing in to an account of their own between guesses must not
reset the budget of the address they guess from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FREE_FAILURES = 5
BASE_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(hours=1)
FORGET_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class State:
    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None


def current(state: State, now: datetime) -> State:
    """``state`` as it stands at ``now``: failures long past are forgotten."""
    if state.last_failure_at is not None and now - state.last_failure_at >= FORGET_AFTER and not locked(state, now):
        return State()
    return state


def locked(state: State, now: datetime) -> bool:
    return state.locked_until is not None and now < state.locked_until


def retry_after(state: State, now: datetime) -> timedelta:
    """How long until ``state`` allows a try (zero when it does)."""
    if not locked(state, now):
        return timedelta(0)
    assert state.locked_until is not None
    return state.locked_until - now


def lock_for(failures: int) -> timedelta:
    """The lock after the ``failures``-th failure: none within the free budget, then growing."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    extra = failures - FREE_FAILURES
    if extra >= 8:  # 30 s * 2**7 is past the cap already; avoid huge powers
        return MAX_LOCK
    grown: timedelta = BASE_LOCK * (2 ** extra)
    return min(grown, MAX_LOCK)


def after_failure(state: State, now: datetime) -> State:
    state = current(state, now)
    failures = state.failures + 1
    lock = lock_for(failures)
    return State(failures, now, now + lock if lock else None)
