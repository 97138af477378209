"""Browser tests' harness: a real ``tocsin serve`` process on SQLite (engine included) paging
through a real SMTP server (aiosmtpd), driven by Debian's Chromium through Playwright.

Playwright launches ``/usr/bin/chromium`` (Debian's package; ``.ci/run`` installs it) with
``executable_path`` — never ``playwright install``, which would download a browser build. One
browser for the whole module; each test opens its own contexts (cookie jars). Screenshots go to
``tests/ui/artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.engine.smtp_channel import Mailbox, _free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parent / "artifacts"
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
PROJECT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 800}


@dataclass
class Server:
    url: str
    admin_email: str
    api_key: str
    routing_key: str
    mailbox: Mailbox
    process: subprocess.Popen[bytes]
    log_path: Path

    def send_event(self, summary: str, **extra: Any) -> str:
        body = {"routing_key": self.routing_key, "event_action": "trigger",
                "payload": {"summary": summary, "source": "web-1", "severity": "critical", **extra}}
        r = httpx.post(f"{self.url}/v2/enqueue", json=body, timeout=10)
        assert r.status_code == 202, r.text
        return str(r.json()["dedup_key"])

    def rest(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Token token={self.api_key}", "From": self.admin_email,
                   "Accept": "application/vnd.pagerduty+json;version=2"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=10, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def require_chromium() -> None:
    """Skip without Debian's chromium — except in CI, whose .ci/run installs it: fail there."""
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "tocsin", *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=120, cwd=PROJECT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_chromium()
    directory = tmp_path_factory.mktemp("ui-server")
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=f"sqlite:///{directory / 'tocsin.db'}", TOCSIN_HOST="127.0.0.1",
               TOCSIN_PORT=str(port), TOCSIN_PUBLIC_URL=url, TOCSIN_SMTP_HOST="127.0.0.1",
               TOCSIN_SMTP_PORT=str(smtp.port), TOCSIN_EMAIL_FROM="Tocsin <tocsin@tocsin.test>",
               TOCSIN_EVENTS_RATE_LIMIT="0", TOCSIN_REST_RATE_LIMIT="0", TOCSIN_LOG_LEVEL="warning",
               PYTHONPATH=str(PROJECT))
    seed = json.loads(_run(env, "init", "--json"))
    _run(env, "user", "set-password", seed["admin_email"], "--password-stdin", stdin=PASSWORD + "\n")
    log_path = directory / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "tocsin", "serve"], env=env, cwd=PROJECT,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield Server(url, seed["admin_email"], seed["api_key"], seed["integration_key"], mailbox, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        smtp.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical accessibility violations axe-core finds on the page as it is."""
    page.add_script_tag(content=AXE.read_text())
    found: list[dict[str, Any]] = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}));
    }""")
    return found


def horizontal_overflow(page: Any) -> int:
    """How many pixels the page is wider than the viewport (0: no horizontal scroll)."""
    width: int = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    return width


def sign_in(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    page.get_by_label("Email").fill(server.admin_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("h1:has-text('Incidents')")
