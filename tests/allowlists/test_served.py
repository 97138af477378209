"""Allow lists over real HTTP: Tocsin served by uvicorn on 127.0.0.1, clients connecting from
other loopback addresses (127.0.0.2 an outsider, 127.0.0.9 a trusted reverse proxy), on SQLite
and PostgreSQL. Also: a locked-out operator gets back in with ``tocsin allowlist clear``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from tests.conftest import make_settings
from tocsin.api.app import Tocsin
from tocsin.bootstrap import InitResult
from tocsin.cli import app as cli

PROXY = "127.0.0.9"
OUTSIDER = "127.0.0.2"
ACCEPT = "application/vnd.pagerduty+json;version=2"


@dataclass
class Served:
    tocsin: Tocsin
    url: str
    seed: InitResult

    def client(self, source: str = "127.0.0.1") -> httpx.Client:
        """A client whose connections come from ``source`` (any 127.x address is this machine)."""
        return httpx.Client(base_url=self.url, transport=httpx.HTTPTransport(local_address=source), timeout=10)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token token={self.seed.api_key}", "Accept": ACCEPT, "From": self.seed.admin_email}

    def event(self) -> dict[str, Any]:
        return {"routing_key": self.seed.integration_key, "event_action": "trigger",
                "payload": {"summary": "disk full", "source": "db1", "severity": "critical"}}


@contextmanager
def serving(db_url: str, seed: InitResult, refresh_seconds: float = 5.0) -> Iterator[Served]:
    tocsin = Tocsin(make_settings(db_url, trusted_proxies=f"{PROXY}/32"), start_worker=False, start_engine=False)
    tocsin.allow_lists.refresh_seconds = refresh_seconds
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(tocsin, lifespan="on", log_level="warning", proxy_headers=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "Tocsin did not start"
        time.sleep(0.02)
    try:
        yield Served(tocsin, f"http://127.0.0.1:{sock.getsockname()[1]}", seed)
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


@pytest.fixture
def served(db_url: str, init_result: InitResult) -> Iterator[Served]:
    with serving(db_url, init_result) as s:
        yield s


def make_list(s: Served, *cidrs: str, applies_to: list[str], force: bool = False) -> dict[str, Any]:
    with s.client() as c:
        r = c.post("/ip_allow_lists", headers=s.auth, params={"force": str(force).lower()}, json={"ip_allow_list": {
            "state": "enabled", "applies_to": applies_to, "cidr_entries": [{"cidr": x} for x in cidrs]}})
    assert r.status_code == 201, r.text
    return dict(r.json()["ip_allow_list"])


def test_refused_peers_get_403_on_both_apis_and_listed_ones_pass(served: Served) -> None:
    s = served
    make_list(s, "127.0.0.1/32", "198.51.100.0/24", applies_to=["rest_api", "events_api"])
    with s.client(OUTSIDER) as outsider:
        rest = outsider.get("/services", headers=s.auth)
        assert rest.status_code == 403
        assert rest.json() == {"error": {"message": "Access Denied", "code": 2010, "errors": [
            "Requests from 127.0.0.2 are not allowed by the account's IP allow list for the REST API"]}}
        events = outsider.post("/v2/enqueue", json=s.event())
        assert events.status_code == 403
        assert events.json()["status"] == "forbidden"
        assert events.json()["errors"] == [
            "Requests from 127.0.0.2 are not allowed by the account's IP allow list for the Events API"]
        # X-Forwarded-For from a peer that is not a trusted proxy is ignored
        spoofed = outsider.get("/services", headers={**s.auth, "X-Forwarded-For": "198.51.100.7"})
        assert spoofed.status_code == 403 and "127.0.0.2" in spoofed.text
    with s.client() as listed:
        assert listed.get("/services", headers=s.auth).status_code == 200
        assert listed.post("/v2/enqueue", json=s.event()).status_code == 202


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(served: Served) -> None:
    s = served
    made = make_list(s, "127.0.0.1/32", "198.51.100.0/24", applies_to=["rest_api", "events_api"])
    with s.client(PROXY) as proxy:
        def via(chain: str | None, path: str = "/services") -> httpx.Response:
            headers = {**s.auth, **({"X-Forwarded-For": chain} if chain is not None else {})}
            return proxy.get(path, headers=headers)

        assert via("198.51.100.7").status_code == 200  # the proxy vouches for a listed client
        assert proxy.post("/v2/enqueue", json=s.event(), headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 202
        refused = via("203.0.113.5")
        assert refused.status_code == 403 and "Requests from 203.0.113.5" in refused.text
        # walked right to left: what a client wrote to the left of its real address is never read
        assert via("198.51.100.7, 203.0.113.5").status_code == 403
        assert via("203.0.113.5, 198.51.100.7").status_code == 200
        assert via(f"198.51.100.7, {PROXY}").status_code == 200  # a chain of trusted proxies is skipped
        assert via(None).status_code == 403  # no header: the proxy itself asks, and it is not listed
        assert via("unknown").status_code == 403
        # the client the proxy named is the one the audit trail records
        r = proxy.put(f"/ip_allow_lists/{made['id']}", headers={**s.auth, "X-Forwarded-For": "198.51.100.7"},
                      json={"ip_allow_list": {"state": "enabled", "cidr_entries": [
                          {"cidr": "127.0.0.1/32"}, {"cidr": "198.51.100.0/24"}, {"cidr": "192.0.2.0/24"}]}})
        assert r.status_code == 200, r.text
        trail = via("198.51.100.7", f"/ip_allow_lists/{made['id']}/audit/records").json()["records"]
        assert trail[0]["action"] == "update"
        assert trail[0]["execution_context"]["remote_address"] == "198.51.100.7"
        # and the lockout rule judges that client: narrowing to exclude 198.51.100.7 is refused
        r = proxy.put(f"/ip_allow_lists/{made['id']}", headers={**s.auth, "X-Forwarded-For": "198.51.100.7"},
                      json={"ip_allow_list": {"state": "enabled", "cidr_entries": [{"cidr": "127.0.0.1/32"}]}})
        assert r.status_code == 400 and "refuse requests from 198.51.100.7" in r.text


def test_a_locked_out_operator_gets_back_in_with_the_command_line(db_url: str, init_result: InitResult) -> None:
    with serving(db_url, init_result, refresh_seconds=0.1) as s:
        make_list(s, "192.0.2.0/24", applies_to=["rest_api", "events_api"], force=True)
        with s.client() as c:
            assert c.get("/services", headers=s.auth).status_code == 403
            result = CliRunner().invoke(cli, ["allowlist", "clear"], env={"TOCSIN_DATABASE_URL": db_url})
            assert result.exit_code == 0, result.output
            assert "Deleted P" in result.output and "within 5 seconds" in result.output
            deadline = time.monotonic() + 5
            while c.get("/services", headers=s.auth).status_code == 403:
                assert time.monotonic() < deadline, "the server never re-read the lists"
                time.sleep(0.05)
            assert c.post("/v2/enqueue", json=s.event()).status_code == 202
