"""The maintenance rule, as pure functions (no database or web code).

A maintenance window is *open* for its services at time ``t`` when ``start_time <= t < end_time``
(start inclusive, end exclusive, so back-to-back windows never overlap or leave a gap).
``t`` is the event's **processing** time: the runtime clock read once per processor batch
(``tocsin.events.processor``), so one batch judges all its events at one instant, and a test
can freeze the clock to probe the boundaries.

While a window is open on a service, events sent to that service's integrations are accepted
(202) and stored exactly as usual, and then:

- a trigger that would open a new alert (no open alert for its integration and dedup key at
  that point of the batch) opens no alert and no incident, and so pages nobody. It is stored as
  a *suppressed event* with the window that held it, its payload and both times (received and
  judged), and is listed by ``GET /maintenance_windows/{id}/suppressed_events``. A suppressed
  trigger is never replayed: after the window, the same dedup key opens a new incident.
- a trigger whose dedup key matches an alert opened before the window dedups onto it as usual
  (a trigger log entry on the existing incident; an existing incident is not paged again).
- acknowledge and resolve apply as usual to incidents opened before the window. Those whose
  trigger was suppressed find no open alert and, as for any unknown key, do nothing.
- change events are unaffected (they never open incidents).

When several open windows cover one service, the one created first is named as the holder.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TypeVar

State = Literal["future", "ongoing", "past"]


def is_open(start_time: datetime, end_time: datetime, at: datetime) -> bool:
    return start_time <= at < end_time


def state(start_time: datetime, end_time: datetime, at: datetime) -> State:
    if at < start_time:
        return "future"
    return "ongoing" if at < end_time else "past"


@dataclass(frozen=True, slots=True)
class Hold:
    """Why a service's triggers are held back: the open window, and when that was judged."""

    window_id: str
    at: datetime


class AlertEvent(Protocol):
    @property
    def action(self) -> str: ...


E = TypeVar("E", bound=AlertEvent)


def hold_back(
    events: Iterable[E],
    open_keys: Iterable[Hashable],
    key_of: Callable[[E], Hashable],
    hold_of: Callable[[E], Hold | None],
) -> tuple[list[E], list[tuple[E, Hold]]]:
    """Split a batch, in arrival order, into events to apply as usual and triggers to suppress.

    Tracks only whether each key has an open alert, as dedup does: a trigger opens one when
    none is open, a resolve closes it. A suppressed trigger opens nothing, so later events of
    its key in the same batch see the key still closed.
    """
    open_now = set(open_keys)
    kept: list[E] = []
    held: list[tuple[E, Hold]] = []
    for event in events:
        key = key_of(event)
        if event.action == "trigger" and key not in open_now:
            hold = hold_of(event)
            if hold is not None:
                held.append((event, hold))
                continue
            open_now.add(key)
        elif event.action == "resolve":
            open_now.discard(key)
        kept.append(event)
    return kept, held


class InvalidWindow(ValueError):
    """A window's times break a rule; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def settle_times(
    start_time: datetime, end_time: datetime, now: datetime, *, started_at: datetime | None = None
) -> tuple[datetime, datetime]:
    """The times a window will really have, or InvalidWindow.

    A start in the past means "now" (PagerDuty's behaviour); for a window that has already
    started (``started_at``), it keeps its recorded start instead of moving. The end must be
    in the future and after the start.
    """
    if start_time < now:
        start_time = started_at if started_at is not None and started_at <= now else now
    if end_time <= now:
        raise InvalidWindow("end_time", "must be in the future")
    if end_time <= start_time:
        raise InvalidWindow("end_time", "must be after start_time")
    return start_time, end_time
