"""The crash proof: ``kill -9`` a real ``tocsin serve`` while webhook deliveries are pending and
in flight; after a restart every event is delivered at least once, and a receiver deduping by
``X-Webhook-Id`` sees each event once, in order per incident.

Real processes (``tocsin init``, ``tocsin serve`` on a temporary SQLite file), the Events API for
the changes, and the test receiver (tests/webhooks/receiver.py), which checks every signature.

Time: the server runs on a ScaledClock ``RATE`` times faster than the wall clock (one shared real
epoch, so the restarted process continues the same clock). A claimed delivery is leased for 60
simulated seconds (webhooks.delivery.LEASE); at ``RATE`` that lease — what a dead process's
claims wait for before another sends them again — lasts 60 / RATE real seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.webhooks.helpers import subscription_body
from tests.webhooks.receiver import Receiver, running_receiver

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
RATE = 10.0  # the 60 s lease of a killed process's claims runs out in 6 real seconds
INCIDENTS = 12
ACTIONS = ("trigger", "acknowledge", "resolve")
EXPECTED_TYPES = ["incident.triggered", "incident.acknowledged", "incident.resolved"]
HANG_S = 2.5  # the receiver's answer time before the kill: deliveries are in flight then


class Server:
    """``tocsin serve`` (engine inside) as a child process, started and killed by the test."""

    def __init__(self, env: dict[str, str], workdir: Path, url: str) -> None:
        self.env, self.workdir, self.url = env, workdir, url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.workdir / "server.log", "ab")  # noqa: SIM115 - the process owns it until it ends
        self.proc = subprocess.Popen([sys.executable, "-m", "tocsin", "serve"], env=self.env, cwd=ROOT,
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, f"tocsin serve exited\n{self.log()}"
            time.sleep(0.1)
        pytest.fail(f"tocsin serve did not start\n{self.log()}")

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, "the server died before the kill"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def log(self) -> str:
        path = self.workdir / "server.log"
        return path.read_text()[-4000:] if path.exists() else ""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        r.hang_seconds = HANG_S
        yield r


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, dict[str, str], str]]:
    """A spawned server on a fresh SQLite file; (server, ``tocsin init``'s credentials, database URL)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    db_url = f"sqlite:///{tmp_path}/crash.db"
    env = {**os.environ, "TOCSIN_DATABASE_URL": db_url, "TOCSIN_HOST": "127.0.0.1", "TOCSIN_PORT": str(port),
           "TOCSIN_PUBLIC_URL": url, "TOCSIN_EVENTS_RATE_LIMIT": "0", "TOCSIN_REST_RATE_LIMIT": "0",
           "TOCSIN_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
           "TOCSIN_CLOCK_RATE": str(RATE), "TOCSIN_CLOCK_EPOCH_REAL": str(time.time()),
           "TOCSIN_LOG_LEVEL": "warning"}
    init = subprocess.run([sys.executable, "-m", "tocsin", "init", "--json"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert init.returncode == 0, init.stderr
    creds = json.loads(init.stdout[init.stdout.index("{"):])
    s = Server(env, tmp_path, url)
    try:
        s.start()
        yield s, creds, db_url
    finally:
        s.stop()


def _send_events(url: str, routing_key: str) -> None:
    """Each incident's trigger, then its acknowledge, then its resolve (one request at a time, so
    each incident's changes are queued in that order)."""
    with httpx.Client(base_url=url, timeout=10) as client:
        for action in ACTIONS:
            for i in range(INCIDENTS):
                body: dict[str, object] = {"routing_key": routing_key, "event_action": action,
                                           "dedup_key": f"crash-{i}"}
                if action == "trigger":
                    body["payload"] = {"summary": f"crash {i}", "source": "t", "severity": "critical"}
                r = client.post("/v2/enqueue", json=body)
                assert r.status_code == 202, r.text


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str, server: Server) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}\n{server.log()}")


def _stored_deliveries(db_url: str, subscription_id: str) -> dict[str, str]:
    """Delivery id -> status, for the subscription, read from the database after the run."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, status FROM outbound_deliveries WHERE destination_id = :d"),
                                {"d": subscription_id}).all()
    finally:
        engine.dispose()
    return {str(r[0]): str(r[1]) for r in rows}


def test_kill_9_with_pending_deliveries_loses_nothing(server: tuple[Server, dict[str, str], str],
                                                      receiver: Receiver) -> None:
    srv, creds, db_url = server
    routing_key = creds["integration_key"]  # the default service `tocsin init` made
    auth = {"Authorization": f"Token token={creds['api_key']}", "Accept": "application/vnd.pagerduty+json;version=2",
            "From": "admin@example.com"}
    with httpx.Client(base_url=srv.url, headers=auth, timeout=10) as client:
        r = client.post("/webhook_subscriptions", json=subscription_body(receiver.url("/hook"),
                                                                         events=EXPECTED_TYPES))
        assert r.status_code == 200, r.text
        subscription = r.json()["webhook_subscription"]
    receiver.secrets["/hook"] = subscription["delivery_method"]["secret"]
    # Before the kill the receiver is slow: every request it gets now hangs, so the server has
    # deliveries in flight (leased) and the rest of each incident's stream pending behind them.
    receiver.answer("/hook", *["hang"] * 1000)

    _send_events(srv.url, routing_key)
    _wait_for(lambda: len(receiver.at("/hook")) >= min(INCIDENTS, 8), 15, "deliveries in flight", srv)
    srv.kill9()
    before_kill = len(receiver.at("/hook"))
    assert before_kill < INCIDENTS * len(ACTIONS), "everything was sent before the kill: nothing was pending"

    with receiver.lock:
        receiver.answers["/hook"] = []  # healthy from now on
    srv.start()

    def every_event_seen() -> bool:
        seen = {(one.event["data"]["id"], one.event["event_type"]) for one in receiver.at("/hook")}
        return len(seen) == INCIDENTS * len(ACTIONS)

    _wait_for(every_event_seen, 25, "every event after the restart", srv)
    time.sleep(0.5)  # any delivery being recorded settles
    srv.stop()

    got = receiver.at("/hook")
    assert all(received.verified for received in got), "a delivery failed the signature check"
    stored = _stored_deliveries(db_url, subscription["id"])
    # Deduped by X-Webhook-Id: exactly the deliveries the outbox wrote, one per event.
    first_by_id: dict[str, int] = {}
    for n, received in enumerate(got):
        first_by_id.setdefault(received.headers["x-webhook-id"], n)
    assert set(first_by_id) == set(stored)
    assert set(stored.values()) == {"delivered"}
    assert len(stored) == INCIDENTS * len(ACTIONS)
    # The same webhook id always carries the same body: a resend is the same event.
    bodies: dict[str, bytes] = {}
    for received in got:
        assert bodies.setdefault(received.headers["x-webhook-id"], received.body) == received.body
    # The kill made some deliveries go out twice (in flight, never recorded): dedupe had work to do.
    assert len(got) > len(first_by_id), "no delivery was sent again after the kill"
    # Per incident, the deduped events arrive in the order they happened.
    per_incident: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for n in sorted(first_by_id.values()):
        event = got[n].event
        per_incident[event["data"]["id"]].append((event["occurred_at"], event["event_type"]))
    assert len(per_incident) == INCIDENTS
    for events in per_incident.values():
        assert [t for _, t in events] == EXPECTED_TYPES
        assert [at for at, _ in events] == sorted(at for at, _ in events)
