"""The one place the engine's step list is built, and ``tocsin engine``'s main (the engine alone,
no HTTP)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime

from tocsin.clock import clock_for
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.engine.escalate import EscalateStep
from tocsin.engine.handoff import HandoffStep
from tocsin.engine.loop import Engine
from tocsin.engine.metrics import EngineMetrics
from tocsin.engine.notify import NotifyStep
from tocsin.engine.planner import plan_transaction
from tocsin.engine.reconcile import ReconcileStep
from tocsin.engine.signal import announce
from tocsin.engine.step import Step
from tocsin.engine.timers import ClockStep
from tocsin.incidents.change_feed import announce_changes
from tocsin.notifications.channels import Channels

log = logging.getLogger(__name__)
HEALTH_SECONDS = 60.0


def build_engine(db: Database, now: Callable[[], datetime], settings: Settings, metrics: EngineMetrics, *,
                 steps_extra: Sequence[Step] = (), channels: Channels | None = None) -> Engine:
    """The engine with every step, in the order a tick runs them; its channels built from the
    settings (a channel that is not configured fails its sends with the reason, never silently)."""
    channels = channels or Channels.from_settings(settings, now)
    live = channels.live()
    log.info("notification channels live: %s", ", ".join(live) if live else "none (sends will fail: not configured)")
    steps: list[Step] = [
        *steps_extra,
        # Sends first: after an outage, the pages already due go out before an overdue escalation
        # moves the incident on (which would cancel the earlier level's page as no longer wanted).
        NotifyStep(db, now, channels, metrics.sent, settings.base_url),
        EscalateStep(db, now),
        ClockStep(db, now),
        HandoffStep(db, now),
        ReconcileStep(db, metrics),
    ]
    return Engine(db, now, steps, metrics, clock_rate=settings.clock_rate, closers=[channels.aclose])


async def run_alone(settings: Settings, stopping: asyncio.Event, *, health_seconds: float = HEALTH_SECONDS) -> None:
    """Run the engine until ``stopping`` is set, logging its health every ``health_seconds``.
    Raises ``lock.EngineAlreadyRunning`` when another engine runs on the same SQLite file."""
    db = Database(settings.database_url)
    clock = clock_for(settings.clock_rate, settings.clock_epoch_real)
    engine = build_engine(db, clock.now, settings, EngineMetrics())
    # The steps' own changes (an escalation, a timeout) plan their follow-up work before they
    # commit, exactly as in `tocsin serve`.
    db.before_commit.append(lambda session: plan_transaction(session, lambda s, due: announce(s, engine.wake, due)))
    # Its changes (escalations, sends' outcomes) reach the web UI's open pages in the servers
    # (PostgreSQL NOTIFY; on SQLite there is no engine outside `tocsin serve`'s process to hear).
    db.before_commit.append(lambda session: announce_changes(session, None, origin="engine"))
    try:
        engine.start()
        while not stopping.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), health_seconds)
            log.info("%s", engine.health())
    finally:
        await engine.stop()
        await db.dispose()
