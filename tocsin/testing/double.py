"""``PagerDuty``: the handle a test gets from the ``pagerduty`` fixture (or ``start_pagerduty``).

A real Tocsin behind it (``server.InProcessTocsin``); the handle gives the test what it needs to
point an integration at it (URLs, keys, trusted TLS) and to assert on what Tocsin saw: incidents
through the REST API, the requests it received with their validation results, the notifications
it "sent", and a clock to move on.

Reads settle first: every event already answered 202 is processed and the engine has run at the
current time before ``incidents()`` or ``notifications()`` answer, so a test never races the
background processing of an event its own code sent.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from tocsin.api.app import Tocsin
from tocsin.events.ingest import V2_PATH
from tocsin.testing import timetravel
from tocsin.testing.inspector import ReceivedRequest, RequestLog
from tocsin.testing.outbox import SentNotification, sent_notifications
from tocsin.testing.seed import Seed
from tocsin.testing.server import InProcessTocsin

if TYPE_CHECKING:  # the PyPI client is optional: only rest_client() and events_client() need it
    import pagerduty

POLL_SECONDS = 0.02
PAGE = 100


class PagerDuty:
    """A running Tocsin standing in for PagerDuty. See the README's "Testing an integration"."""

    def __init__(self, server: InProcessTocsin) -> None:
        assert server.seed is not None and server.tocsin is not None and server.app is not None
        self._server = server
        self.seed: Seed = server.seed
        self._http = httpx.Client(base_url=server.url, headers=self.headers, timeout=30.0)
        self._handed_out: set[str] = set()
        self._clients: list[Any] = []

    # --- where and who ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL (plain HTTP) of both APIs: REST at ``/incidents`` …, events at ``/v2/enqueue``."""
        return self._server.url

    @property
    def rest_url(self) -> str:
        """What to use instead of ``https://api.pagerduty.com`` (plain HTTP)."""
        return self._server.url

    @property
    def events_url(self) -> str:
        """What to use instead of ``https://events.pagerduty.com/v2/enqueue``."""
        return self._server.url + V2_PATH

    @property
    def https_url(self) -> str:
        """Base URL of both APIs over HTTPS, for clients that refuse http (the PyPI ``pagerduty``
        client does); trust ``ssl_context`` (or ``ca_file``)."""
        if self._server.https_url is None:
            raise RuntimeError(f"no https listener: {self._server.tls_problem or 'started with tls=False'}")
        return self._server.https_url

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """A verifying context trusting exactly the double's certificate."""
        if self._server.certificate is None:
            raise RuntimeError(f"no https listener: {self._server.tls_problem or 'started with tls=False'}")
        return self._server.certificate.ssl_context()

    @property
    def ca_file(self) -> str:
        """The certificate as a file, for tools that take a CA bundle path (``SSL_CERT_FILE``, curl)."""
        if self._server.certificate is None:
            raise RuntimeError(f"no https listener: {self._server.tls_problem or 'started with tls=False'}")
        return str(self._server.certificate.certfile)

    @property
    def routing_key(self) -> str:
        """The seeded service's Events API v2 integration key."""
        return self.seed.routing_key

    @property
    def api_key(self) -> str:
        """A full-access account REST API key."""
        return self.seed.api_key

    @property
    def admin_email(self) -> str:
        """The owner's email: the ``From`` header REST writes with an account key need."""
        return self.seed.admin_email

    @property
    def service_id(self) -> str:
        return self.seed.service_id

    @property
    def escalation_policy_id(self) -> str:
        return self.seed.escalation_policy_id

    @property
    def headers(self) -> dict[str, str]:
        """REST headers: the key, PagerDuty's Accept, and From."""
        return {"Authorization": f"Token token={self.api_key}", "Accept": "application/vnd.pagerduty+json;version=2",
                "From": self.admin_email}

    @property
    def tocsin(self) -> Tocsin:
        """The app itself (for what the handle does not offer)."""
        assert self._server.tocsin is not None
        return self._server.tocsin

    # --- time --------------------------------------------------------------------------------

    def now(self) -> datetime:
        """Tocsin's clock."""
        assert self._server.clock is not None
        return self._server.clock.now()

    def advance(self, **delta: float) -> datetime:
        """Move Tocsin's clock on (``minutes=31``, ``hours=2`` …; timedelta's arguments) and run
        the engine at every due time on the way, so escalations, acknowledgement timeouts,
        auto-resolves and delayed sends happen as they would have; returns the new time."""
        clock = self._server.clock
        assert clock is not None
        return self._server.call(lambda: timetravel.advance(self.tocsin, clock, timedelta(**delta)))

    def settle(self) -> None:
        """Process every accepted event and run the engine at the current time."""
        self._server.call(lambda: timetravel.settle(self.tocsin))

    # --- what Tocsin saw ---------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A REST request with the seeded key (``pd.request("GET", "/services")``)."""
        return self._http.request(method, path, **kwargs)

    def incidents(self, **params: Any) -> list[dict[str, Any]]:
        """Every incident (``GET /incidents?date_range=all``, oldest first), after settling;
        ``params`` add filters (``incident_key=``, ``statuses[]=`` …)."""
        self.settle()
        return self._incidents(params)

    def _incidents(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            r = self._http.get("/incidents", params={"date_range": "all", "sort_by": "incident_number:asc",
                                                     "limit": PAGE, "offset": len(found), **params})
            r.raise_for_status()
            body = r.json()
            found += body["incidents"]
            if not body.get("more"):
                return found

    def log_entries(self, incident_id: str) -> list[dict[str, Any]]:
        """The incident's log entries, oldest first."""
        self.settle()
        r = self._http.get(f"/incidents/{incident_id}/log_entries", params={"limit": PAGE})
        r.raise_for_status()
        return list(reversed(r.json()["log_entries"]))

    def _take_new(self, dedup_key: str | None) -> dict[str, Any] | None:
        self.settle()
        for incident in self._incidents({"incident_key": dedup_key} if dedup_key is not None else {}):
            if incident["id"] not in self._handed_out:
                self._handed_out.add(incident["id"])
                return incident
        return None

    def _timed_out(self, dedup_key: str | None, timeout: float) -> TimeoutError:
        events = self.requests("events")
        seen = "\n  ".join(r.summary() for r in events[-5:]) or "(no Events API request at all)"
        which = f" with dedup key {dedup_key!r}" if dedup_key is not None else ""
        return TimeoutError(f"no new incident{which} within {timeout:g} s; the last events Tocsin received:\n  {seen}")

    def next_incident_sync(self, dedup_key: str | None = None, *, timeout: float = 5.0) -> dict[str, Any]:
        """The oldest incident (with this dedup key, if given) not handed out by an earlier call,
        waiting up to ``timeout`` seconds for it to appear; PagerDuty's JSON."""
        deadline = time.monotonic() + timeout
        while (found := self._take_new(dedup_key)) is None:
            if time.monotonic() >= deadline:
                raise self._timed_out(dedup_key, timeout)
            time.sleep(POLL_SECONDS)
        return found

    async def next_incident(
        self, dedup_key: str | None = None, *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the sync variant's call, whose timeout it shares
    ) -> dict[str, Any]:
        """``next_incident_sync`` for async tests (the test's event loop keeps running)."""
        deadline = time.monotonic() + timeout
        while (found := await asyncio.to_thread(self._take_new, dedup_key)) is None:
            if time.monotonic() >= deadline:
                raise self._timed_out(dedup_key, timeout)
            await asyncio.sleep(POLL_SECONDS)
        return found

    def notifications(self, *, channel: str | None = None, to: str | None = None, user_id: str | None = None,
                      incident_id: str | None = None) -> list[SentNotification]:
        """What would have been sent (emails, SMS, calls), oldest first, after settling."""
        self.settle()
        found = self._server.call(lambda: sent_notifications(self.tocsin))
        return [n for n in found if (channel is None or n.channel == channel) and (to is None or n.to == to)
                and (user_id is None or n.user_id == user_id) and (incident_id is None or n.incident_id == incident_id)]

    def requests(self, kind: str | None = None) -> list[ReceivedRequest]:
        """Every Events API request and REST write received (``kind`` "events" or "rest"), oldest
        first, each with Tocsin's answer: ``status``, ``accepted``, ``message``, ``errors``."""
        return self._request_log.records([kind] if kind else ("events", "rest"))

    @property
    def _request_log(self) -> RequestLog:
        assert self._server.app is not None
        return self._server.app.requests

    # --- the official client, pointed here -----------------------------------------------------

    def rest_client(self, **kwargs: Any) -> pagerduty.RestApiV2Client:
        """The PyPI ``pagerduty`` REST client, over HTTPS, trusting the double's certificate."""
        import pagerduty

        client = pagerduty.RestApiV2Client(self.api_key, default_from=self.admin_email, base_url=self.https_url,
                                           verify=self.ssl_context, **kwargs)
        self._clients.append(client)
        return client

    def events_client(self, routing_key: str | None = None, **kwargs: Any) -> pagerduty.EventsApiV2Client:
        """The PyPI ``pagerduty`` Events API v2 client, over HTTPS, trusting the double's certificate."""
        import pagerduty

        client = pagerduty.EventsApiV2Client(routing_key or self.routing_key, base_url=self.https_url,
                                             verify=self.ssl_context, **kwargs)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        self._http.close()


@contextmanager
def start_pagerduty(*, tls: bool = True, start_at: datetime | None = None, **settings: Any) -> Iterator[PagerDuty]:
    """A fresh Tocsin for the block. ``start_at``: Tocsin's clock at start (default: now);
    ``settings``: Tocsin settings to override (``events_rate_limit=120`` …); ``tls=False`` skips
    the https listener."""
    server = InProcessTocsin(tls=tls, start_at=start_at, **settings)
    server.start()
    handle = PagerDuty(server)
    try:
        yield handle
    finally:
        handle.close()
        server.stop()
