"""Moving a test double's clock on, with everything that falls due on the way happening on time.

``advance`` does not jump straight to the target: after an outage the engine acts once at its
run time and counts the next delay from then (ARCHITECTURE.md, "Catching up"), so a jump of an
hour over a 30-minute policy would page level 2 at +60 instead of +30 and never reach level 3.
Instead it stops at every due time the engine reports on the way (escalations, acknowledgement
timeouts, auto-resolves, delayed sends, shift edges), sets the clock there and lets the engine
settle, exactly as a real engine would have run at those instants. The reconciler's once-a-minute
walk is not a stop (it changes nothing in a healthy system, and would make a day 1,440 stops).

Both run on the server's event loop; ``engine.tick()`` shares the running engine's turn, so the
engine's own loop and these ticks never overlap.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from tocsin.api.app import Tocsin
from tocsin.engine.reconcile import ReconcileStep

MAX_STOPS = 10_000  # a runaway (a step reporting the same due time for ever) ends here, loudly


class MovableClock(Protocol):
    def now(self) -> datetime: ...

    def advance(self, **kwargs: float) -> None: ...


async def settle(tocsin: Tocsin) -> None:
    """Process every accepted event, then run the engine until nothing is due at the clock's time."""
    await tocsin.worker.drain()
    await tocsin.engine.tick()


def _next_stop(tocsin: Tocsin) -> datetime | None:
    """The earliest due time the engine's steps reported at their last run (the reconciler's aside)."""
    walk = {step.name for step in tocsin.engine.steps if isinstance(step, ReconcileStep)}
    dues = [result.next_due for name, result in tocsin.engine.last_results.items()
            if result is not None and result.next_due is not None and name not in walk]
    return min(dues, default=None)


async def advance(tocsin: Tocsin, clock: MovableClock, delta: timedelta) -> datetime:
    """Move ``clock`` on by ``delta``, stopping at each due time on the way; the time reached."""
    if delta < timedelta(0):
        raise ValueError("time only moves forward")
    target = clock.now() + delta
    await settle(tocsin)
    for _ in range(MAX_STOPS):
        stop = _next_stop(tocsin)
        now = clock.now()
        if stop is None or stop > target or stop <= now:
            break
        clock.advance(seconds=(stop - now).total_seconds())
        await settle(tocsin)
    else:
        raise RuntimeError(f"the engine reported new due times {MAX_STOPS} times on the way to {target.isoformat()}")
    rest = (target - clock.now()).total_seconds()
    if rest > 0:
        clock.advance(seconds=rest)
        await settle(tocsin)
    return clock.now()
