"""A small PagerDuty integration: page on-call when a job fails, resolve the page when it recovers.

It speaks the Events API v2 over httpx, exactly as it would to PagerDuty; only the URL differs in
its tests (``tests/``), which run it against Tocsin's ``pagerduty`` fixture.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
T = TypeVar("T")


class EventRejected(Exception):
    """The Events API refused an event (a wrong routing key, a malformed payload)."""

    def __init__(self, status: int, answer: dict[str, Any]) -> None:
        self.status, self.errors = status, list(answer.get("errors") or [])
        super().__init__(f"{status} {answer.get('message', '')}: {'; '.join(self.errors)}")


class IncidentReporter:
    """One incident per failing check (its dedup key is ``source/check``), resolved on recovery."""

    def __init__(self, routing_key: str, *, events_url: str = PAGERDUTY_EVENTS_URL, source: str | None = None,
                 client: httpx.Client | None = None) -> None:
        self.routing_key, self.events_url = routing_key, events_url
        self.source = source or socket.gethostname()
        self._client = client or httpx.Client(timeout=10.0)
        self._failing: set[str] = set()

    def dedup_key(self, check: str) -> str:
        return f"{self.source}/{check}"

    def _send(self, body: dict[str, Any]) -> str:
        r = self._client.post(self.events_url, json={"routing_key": self.routing_key, **body})
        answer = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code != 202:
            raise EventRejected(r.status_code, answer)
        return str(answer["dedup_key"])

    def failed(self, check: str, error: BaseException | str, *, severity: str = "error") -> str:
        """Trigger (or add to) the check's incident."""
        self._failing.add(check)
        return self._send({"event_action": "trigger", "dedup_key": self.dedup_key(check), "payload": {
            "summary": f"{check} failing on {self.source}: {error}", "source": self.source, "severity": severity,
            "custom_details": {"check": check, "error": repr(error)}}})

    def recovered(self, check: str) -> None:
        """Resolve the check's incident, if it was failing."""
        if check in self._failing:
            self._send({"event_action": "resolve", "dedup_key": self.dedup_key(check)})
            self._failing.discard(check)

    def run(self, check: str, job: Callable[[], T]) -> T:
        """Run ``job``: a raise pages (and is re-raised), a success resolves an earlier page."""
        try:
            result = job()
        except Exception as exc:
            self.failed(check, exc)
            raise
        self.recovered(check)
        return result
