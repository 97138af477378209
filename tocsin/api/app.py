"""Builds the ASGI application: the Events API hot path in front of the FastAPI REST app."""

from __future__ import annotations

import functools
import gc
import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from tocsin import __version__
from tocsin.allowlists.guard import AllowListGuard, refuse, unavailable
from tocsin.allowlists.policy import EVENTS_API, REST_API
from tocsin.allowlists.routes import router as allow_lists_router
from tocsin.api import errors, openapi
from tocsin.api.abilities import router as abilities_router
from tocsin.api.audit import router as audit_records_router
from tocsin.api.gate import RestGate
from tocsin.api.webhook_ips import PATH as WEBHOOK_IPS_PATH
from tocsin.api.webhook_ips import router as webhook_ips_router
from tocsin.audit.routes import router as audit_router
from tocsin.auth.access import Authenticator
from tocsin.auth.routes import router as access_router
from tocsin.clock import clock_for
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.engine.assembly import build_engine, deliveries_queued
from tocsin.engine.manual_levels import frozen_level
from tocsin.engine.metrics import EngineMetrics
from tocsin.engine.planner import plan_transaction
from tocsin.engine.routes import router as notification_actions_router
from tocsin.engine.signal import announce
from tocsin.engine.trial_send import ChannelLookup
from tocsin.engine.twilio_routes import router as twilio_router
from tocsin.escalation.queries import policies_targeting_schedule, policies_targeting_user
from tocsin.escalation.routes import router as escalation_router
from tocsin.events.directory import IntegrationDirectory
from tocsin.events.inbox import GroupCommitter
from tocsin.events.ingest import PATHS as EVENT_PATHS
from tocsin.events.ingest import EventsEndpoint
from tocsin.events.ratelimit import SlidingWindowLimiter
from tocsin.events.retention import RetentionSweeper
from tocsin.events.routes import router as events_router
from tocsin.events.worker import InboxWorker
from tocsin.http.runtime import Runtime
from tocsin.http.wiring import Wiring
from tocsin.incidents.change_feed import announce_changes
from tocsin.incidents.routes import router as incidents_router
from tocsin.maintenance.routes import router as maintenance_router
from tocsin.notifications.capture import channels_from_settings
from tocsin.notifications.inbound import SMS_PATH
from tocsin.notifications.links import VOICE_PATH
from tocsin.notifications.routes import router as notifications_router
from tocsin.schedules.routes import router as schedules_router
from tocsin.services.queries import services_using_policies
from tocsin.services.routes import router as services_router
from tocsin.teams.directory import DIRECTORY as TEAM_DIRECTORY
from tocsin.teams.routes import router as teams_router
from tocsin.ui.app import build_ui, is_ui_path
from tocsin.ui.feed import Broadcaster, FeedListener
from tocsin.users.routes import router as users_router
from tocsin.webhooks.outbox import emit_transaction
from tocsin.webhooks.relays import service_deleted
from tocsin.webhooks.retention import prune_deliveries
from tocsin.webhooks.routes import router as webhooks_router

log = logging.getLogger(__name__)


class Tocsin:
    """The whole server as one ASGI callable, plus handles tests use (worker, committer, engine)."""

    def __init__(self, settings: Settings, *, start_worker: bool = True, start_engine: bool = True,
                 channels: ChannelLookup | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        # The engine's planner stores the work each change implies in the change's transaction.
        # Its announce wakes this process's engine after the commit (and, on PostgreSQL, every
        # other engine through NOTIFY in the transaction).
        plan = functools.partial(plan_transaction, announce=self._announce)
        self.db.before_commit.append(plan)
        # The webhooks outbox: every change's v3 events become deliveries in the same transaction.
        self.db.before_commit.append(functools.partial(emit_transaction, base_url=settings.base_url,
                                                       announce=self._deliveries_queued))
        # The web UI's live pages: every commit that changed incidents is announced to this
        # process's open pages after it commits (and on PostgreSQL to other processes' by NOTIFY).
        self.ui_feed = Broadcaster()
        self._origin = secrets.token_hex(6)
        self.db.before_commit.append(
            functools.partial(announce_changes, deliver=self.ui_feed.publish, origin=self._origin))
        self.ui_listener = None if self.db.is_sqlite else FeedListener(settings.database_url, self.ui_feed,
                                                                        self._origin)
        # Every collaborator the clock-reading parts need reads it through the runtime on each
        # call: tests swap in a FrozenClock after construction.
        def now() -> datetime:
            return self.runtime.clock.now()

        self.worker = InboxWorker(self.db, now=now)
        # Deletes change events, suppressed triggers and finished outbound deliveries past retention;
        # runs beside the worker.
        self.retention = RetentionSweeper(self.db, now=now, pruners=(functools.partial(
            prune_deliveries, horizon=timedelta(days=settings.webhook_retention_days)),))
        self.directory = IntegrationDirectory(self.db)
        self.committer = GroupCommitter(self.db, on_commit=self.worker.wake)
        self.events = EventsEndpoint(
            self.directory, self.committer, SlidingWindowLimiter(settings.events_rate_limit),
            now=lambda: self.runtime.clock.now(),
        )
        # Inbound IP allow lists, checked before anything else reads the request. A REST list
        # leaves alone the health probe, the published webhook addresses, and Twilio's callbacks
        # (they come from Twilio's network and carry their own signature).
        self.allow_lists = AllowListGuard(
            self.db, settings.trusted_proxies, exempt_paths=("/health", WEBHOOK_IPS_PATH, SMS_PATH),
            exempt_prefixes=(f"{VOICE_PATH}/",))
        # The one authenticator: the REST gate and the access dependency share it (and its cache),
        # so revoking a key drops it from the only cache there is.
        authenticator = Authenticator(self.db, now)
        self.runtime = Runtime(settings=settings, db=self.db, wiring=Wiring(
            authenticator=authenticator,
            team_directory=TEAM_DIRECTORY,  # users show their teams and leave them through it
            # Escalation sits below services in the layers; it sees services through this query.
            services_using_policies=services_using_policies,
            # Likewise schedules and users (below escalation) refuse deletion while a policy targets them.
            policies_using_schedule=policies_targeting_schedule,
            policies_using_user=policies_targeting_user,
            forget_routing_key=self.directory.forget,
            plan_pending_work=plan,
            allow_lists_changed=self.allow_lists.install,
            # Webhooks sit above services: a deleted service's forwarders, chat webhooks and
            # service-filtered subscriptions are dealt with through this seam.
            service_deleted=service_deleted,
            # The engine sits above incidents: a manual escalation follows the frozen path through this.
            frozen_levels=frozen_level,
        ), clock=clock_for(settings.clock_rate, settings.clock_epoch_real))
        # The paging engine: started with the server unless ``start_engine`` is off (``tocsin
        # serve --no-engine``; ``tocsin engine`` runs it alone). Tests call ``engine.tick()``.
        # One set of channels: the engine's sends and the contact-method test go through it.
        # (Captured in memory instead of sent when ``capture_notifications`` is on: tests, ``tocsin dev``.)
        self.notification_channels = channels_from_settings(settings, now)
        # What test notifications go through (a test may pass its own lookup).
        self.channels: ChannelLookup = channels or self.notification_channels.for_channel
        self.engine = build_engine(self.db, now, settings, EngineMetrics(), channels=self.notification_channels)
        self._queued = deliveries_queued(self.engine, now)
        self._start_worker = start_worker
        self._start_engine = start_engine
        self.rest = self._build_rest()
        self._rest_entry = RestGate(self.rest, authenticator, settings.rest_rate_limit)
        # The web UI answers ``/`` and ``/ui/...`` itself (session cookies, not API keys) and calls
        # the domains directly, never the REST API.
        self.ui = build_ui(self.runtime, self.ui_feed, lambda name: self.channels(name))  # read on each call

    def _announce(self, session: Session, due: Mapping[str, datetime]) -> None:
        announce(session, self.engine.wake, due)

    def _deliveries_queued(self, session: Session, ids: list[str]) -> None:
        """Webhook deliveries were queued: the engine sends them now (``deliveries_queued``)."""
        self._queued(session, ids)

    def _build_rest(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            # The allow lists are in force before the first request is served.
            await self.allow_lists.load()
            self.allow_lists.start()
            if self._start_engine:
                # First: on SQLite it refuses to start while another engine runs on the file.
                self.engine.start()
            if self._start_worker:
                self.worker.start()
                self.retention.start()
            if self.ui_listener is not None:
                self.ui_listener.start()
            # Everything built so far (routes, models, caches) lives as long as the process:
            # keep it out of the collector's generations so full collections stay short.
            gc.freeze()
            try:
                yield
            finally:
                await self.engine.stop()
                await self.allow_lists.stop()
                if self.ui_listener is not None:
                    await self.ui_listener.stop()
                await self.retention.stop()
                await self.committer.close()
                await self.worker.stop()
                await self.db.dispose()

        # No redirects for trailing slashes: PagerDuty answers an unknown path with a 404, and a
        # 307 to another URL would surprise clients (and drop request bodies in some of them).
        app = FastAPI(title="Tocsin", version=__version__, lifespan=lifespan, redirect_slashes=False,
                      description="A self-hosted incident response platform speaking the PagerDuty APIs.")
        app.state.runtime = self.runtime
        app.state.channels = lambda name: self.channels(name)  # read on each call: tests may swap it
        errors.install(app)
        for router in (
            services_router, incidents_router, events_router, schedules_router, users_router,
            teams_router, escalation_router, maintenance_router, audit_router,
            access_router, audit_records_router, abilities_router, notifications_router,
            notification_actions_router, twilio_router, allow_lists_router, webhook_ips_router, webhooks_router,
        ):
            app.include_router(router)

        @app.get("/health", include_in_schema=False)
        async def health() -> dict[str, Any]:
            return {"status": "ok", "version": __version__}

        openapi.install(app)
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.rest(scope, receive, send)
            return
        surface = EVENTS_API if scope["path"] in EVENT_PATHS else REST_API
        guard = self.allow_lists
        if guard.policy is None:  # only until the first load (the lifespan loads before serving)
            try:
                await guard.ensure_loaded()
            except Exception:
                log.exception("the IP allow lists could not be read")
                await unavailable(send, surface)
                return
        refusal = guard.check(scope, surface)
        if refusal is not None:
            await refuse(send, refusal)
        elif surface == EVENTS_API:
            await self.events(scope, receive, send)
        elif is_ui_path(scope["path"], scope["method"], _accept(scope)):  # the REST surface's allow list applies
            await self.ui(scope, receive, send)
        else:
            await self._rest_entry(scope, receive, send)


def _accept(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"accept":
            return value.decode("latin-1")
    return ""


def create_app(settings: Settings | None = None, **kwargs: Any) -> Tocsin:
    return Tocsin(settings or Settings(), **kwargs)
