"""Per-key sliding-window rate limit (pure: the caller passes the time)."""

from __future__ import annotations

from collections import deque

WINDOW_SECONDS = 60.0


class SlidingWindowLimiter:
    """Admits at most ``limit`` hits per key in any trailing 60 s window; 0 means unlimited.

    Exact, not approximated: each key keeps the times of its admitted hits, at most ``limit``
    of them, so memory is bounded by limit x active keys.
    """

    def __init__(self, limit: int, window: float = WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._next_prune = 0.0

    def allow(self, key: str, now: float) -> bool:
        if self.limit <= 0:
            return True
        if now >= self._next_prune:  # bound memory: forget idle keys once per window
            self.prune(now)
            self._next_prune = now + self.window
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        horizon = now - self.window
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def used(self, key: str) -> int:
        hits = self._hits.get(key)
        return len(hits) if hits else 0

    def retry_after(self, key: str, now: float) -> float:
        hits = self._hits.get(key)
        if not hits or len(hits) < self.limit:
            return 0.0
        return max(0.0, hits[0] + self.window - now)

    def prune(self, now: float) -> None:
        """Forget keys idle for a whole window, so one-off keys don't accumulate."""
        horizon = now - self.window
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= horizon]:
            del self._hits[key]
