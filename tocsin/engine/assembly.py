"""The one place the engine's step list is built, and ``tocsin engine``'s main (the engine alone,
no HTTP)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime

import httpx
from sqlalchemy.orm import Session

from tocsin.clock import clock_for
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.engine.deliver import WebhookStep
from tocsin.engine.escalate import EscalateStep
from tocsin.engine.handoff import HandoffStep
from tocsin.engine.loop import Engine
from tocsin.engine.metrics import EngineMetrics
from tocsin.engine.notify import NotifyStep
from tocsin.engine.planner import plan_transaction
from tocsin.engine.reconcile import ReconcileStep
from tocsin.engine.signal import announce
from tocsin.engine.step import WEBHOOKS_STEP, Step
from tocsin.engine.timers import ClockStep
from tocsin.incidents.change_feed import announce_changes
from tocsin.notifications.capture import channels_from_settings
from tocsin.notifications.channel import ChannelSet
from tocsin.outbound.transport import GuardedTransport
from tocsin.webhooks.outbox import emit_transaction

log = logging.getLogger(__name__)
HEALTH_SECONDS = 60.0
# Webhook deliveries: the whole exchange must end within this (PagerDuty expects a 2xx within 5 s).
WEBHOOK_TIMEOUT = 5.0


def outbound_client(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The one HTTP client outbound deliveries (webhooks) go through.

    Redirects are never followed; every exchange is bounded by ``WEBHOOK_TIMEOUT``. By default
    through ``tocsin.outbound``'s guard: loopback, private, link-local and other non-public
    addresses are refused, checked on the address actually connected to, unless
    TOCSIN_WEBHOOK_ALLOWED_NETWORKS allows them; tests may pass their own ``transport``."""
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=64)
    return httpx.AsyncClient(
        transport=transport or GuardedTransport(settings.webhook_allowed_networks, limits=limits),
        follow_redirects=False, timeout=httpx.Timeout(WEBHOOK_TIMEOUT), headers={"Accept": "*/*"}, trust_env=False)


def build_engine(db: Database, now: Callable[[], datetime], settings: Settings, metrics: EngineMetrics, *,
                 steps_extra: Sequence[Step] = (), channels: ChannelSet | None = None,
                 webhook_client: httpx.AsyncClient | None = None) -> Engine:
    """The engine with every step, in the order a tick runs them; its channels built from the
    settings (a channel that is not configured fails its sends with the reason, never silently;
    ``capture_notifications`` records them instead); webhook deliveries through
    ``webhook_client`` (default: ``outbound_client``)."""
    channels = channels or channels_from_settings(settings, now)
    deliveries = WebhookStep(db, now, webhook_client or outbound_client(settings))
    live = channels.live()
    log.info("notification channels live: %s", ", ".join(live) if live else "none (sends will fail: not configured)")
    # Sends first: after an outage, the pages already due go out before an overdue escalation
    # moves the incident on (which would cancel the earlier level's page as no longer wanted). In
    # line the tick's order sees to it; running apart (PostgreSQL), the notify step's horizon does.
    notify = NotifyStep(db, now, channels, metrics.sent, settings.base_url)
    steps: list[Step] = [
        *steps_extra,
        notify,
        # Webhook deliveries: claimed here, sent in the background (one lane per destination).
        deliveries,
        EscalateStep(db, now, horizon=notify.horizon),
        ClockStep(db, now),
        HandoffStep(db, now),
        ReconcileStep(db, metrics),
    ]
    engine = Engine(db, now, steps, metrics, clock_rate=settings.clock_rate,
                    closers=[channels.aclose, deliveries.aclose])
    # A lane that recorded its outcomes has the webhooks step look for what became due (only it).
    deliveries.wake = lambda: engine.wake({WEBHOOKS_STEP: now()})
    return engine


def deliveries_queued(engine: Engine, now: Callable[[], datetime]) -> Callable[[Session, list[str]], None]:
    """The outbox's announcement (``emit_transaction``): deliveries were queued in a transaction
    about to commit. The running engine's webhooks step takes those heading their stream in that
    transaction and sends them as it commits (``Dispatcher.hand_off``); only if some are left
    (behind an earlier delivery of their incident, no room, the engine not running) is the step
    woken after the commit (PostgreSQL: every engine, by NOTIFY) to claim them."""
    step = next(s for s in engine.steps if isinstance(s, WebhookStep))

    def queued(session: Session, ids: list[str]) -> None:
        if engine.running and step.dispatcher.hand_off(session, ids, now()):
            return
        announce(session, engine.wake, {WEBHOOKS_STEP: now()})

    return queued


async def run_alone(settings: Settings, stopping: asyncio.Event, *, health_seconds: float = HEALTH_SECONDS) -> None:
    """Run the engine until ``stopping`` is set, logging its health every ``health_seconds``.
    Raises ``lock.EngineAlreadyRunning`` when another engine runs on the same SQLite file."""
    db = Database(settings.database_url)
    clock = clock_for(settings.clock_rate, settings.clock_epoch_real)
    engine = build_engine(db, clock.now, settings, EngineMetrics())
    # The steps' own changes (an escalation, a timeout) plan their follow-up work before they
    # commit, exactly as in `tocsin serve`.
    db.before_commit.append(lambda session: plan_transaction(session, lambda s, due: announce(s, engine.wake, due)))
    # Their webhook events too (an escalation is ``incident.escalated``), as in `tocsin serve`.
    queued = deliveries_queued(engine, clock.now)
    db.before_commit.append(lambda session: emit_transaction(session, settings.base_url, queued))
    # Its changes (escalations, sends' outcomes) reach the web UI's open pages in the servers
    # (PostgreSQL NOTIFY; on SQLite there is no engine outside `tocsin serve`'s process to hear).
    db.before_commit.append(lambda session: announce_changes(session, None, origin="engine"))
    try:
        engine.start()
        # What was built so far lives as long as the process: out of the collector's generations,
        # so its full collections stay short (as `tocsin serve`'s lifespan does).
        gc.freeze()
        while not stopping.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), health_seconds)
            log.info("%s", engine.health())
    finally:
        await engine.stop()
        await db.dispose()
