"""How many deliveries of each destination this process has in flight, at most ``cap`` each (pure).

A claim takes room for the deliveries it leases inside the claiming transaction, in one step with
no statement in between, and a lane gives it back once its requests are answered (recording them
comes after: a slow database must not hold a receiver's room). Two kinds of claim take
room: the webhooks step's (on the event loop; SQLite: in the writer's thread) and the hand-off of
deliveries queued by a transaction (in that transaction's thread, which on SQLite is the writer's),
so the counts are guarded by a lock and the cap holds whoever claims: a receiver never has more
than ``cap`` of this process's requests open at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence


class Flights:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def full(self) -> list[str]:
        """The destinations with no room left (a claim skips them in SQL), sorted."""
        with self._lock:
            return sorted(d for d, n in self._counts.items() if n >= self.cap)

    def take(self, destinations: Sequence[str]) -> list[bool]:
        """One place for each entry (a delivery's destination), in order, while its destination
        has room: whether each got one."""
        granted: list[bool] = []
        with self._lock:
            for destination in destinations:
                n = self._counts.get(destination, 0)
                granted.append(n < self.cap)
                if n < self.cap:
                    self._counts[destination] = n + 1
        return granted

    def give_back(self, destinations: Iterable[str]) -> bool:
        """One place back for each entry; whether one of them had been full (its waiting deliveries
        can be claimed now)."""
        was_full = False
        with self._lock:
            for destination in destinations:
                n = self._counts.get(destination, 0)
                was_full = was_full or n >= self.cap
                if n > 1:
                    self._counts[destination] = n - 1
                else:
                    self._counts.pop(destination, None)
        return was_full

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())
