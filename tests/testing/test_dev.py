"""``tocsin dev`` as a developer (or a test suite in another language) uses it: a subprocess
printing its URLs and keys, then spoken to over HTTP only."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tocsin.testing.seed import ADMIN_EMAIL, RESPONDER_EMAIL

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


@contextmanager
def tocsin_dev(tmp_path: Path, *args: str) -> Iterator[dict[str, Any]]:
    """Start ``tocsin dev --port 0 --json ARGS``; what it printed. Stopped with SIGTERM after."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env["PYTHONPATH"] = str(ROOT)
    log = tmp_path / f"dev-{time.monotonic_ns()}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tocsin", "dev", "--port", "0", "--json", *args],
                                stdout=subprocess.PIPE, stderr=err, env=env, cwd=tmp_path)
    assert proc.stdout is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
        line = proc.stdout.readline() if ready else b""
        if not line:
            proc.kill()
            pytest.fail(f"tocsin dev printed nothing; its log:\n{log.read_text(errors='replace')}")
        yield orjson.loads(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        proc.stdout.close()
    assert code == 0, log.read_text(errors="replace")


def trigger(dev: dict[str, Any], key: str) -> httpx.Response:
    return httpx.post(dev["events_url"], json={
        "routing_key": dev["routing_key"], "event_action": "trigger", "dedup_key": key,
        "payload": {"summary": f"{key} failed", "source": "ci", "severity": "critical"}})


def rest(dev: dict[str, Any]) -> httpx.Client:
    return httpx.Client(base_url=dev["rest_url"], headers={
        "Authorization": f"Token token={dev['api_key']}", "From": dev["admin_email"]})


def test_events_requests_notifications_and_the_clock(tmp_path: Path) -> None:
    with tocsin_dev(tmp_path) as dev, httpx.Client(base_url=dev["url"]) as client:
        assert trigger(dev, "nightly-build").status_code == 202
        refused = client.post("/v2/enqueue", json={"event_action": "trigger", "payload": {"summary": "x"}})
        assert refused.status_code == 400

        seen = client.get("/dev/requests").json()["requests"]
        assert [(r["path"], r["accepted"], r["dedup_key"]) for r in seen] == [
            ("/v2/enqueue", True, "nightly-build"), ("/v2/enqueue", False, None)]
        assert any("routing_key" in e for e in seen[1]["errors"])
        assert seen[0]["body"]["routing_key"] == "…" + dev["routing_key"][-4:]

        [paged] = client.get("/dev/notifications").json()["notifications"]
        assert (paged["channel"], paged["to"]) == ("email", ADMIN_EMAIL)
        with rest(dev) as api:
            [incident] = api.get("/incidents").json()["incidents"]
        assert paged["incident_id"] == incident["id"]

        before = datetime.fromisoformat(client.get("/dev/clock").json()["now"])
        moved = client.post("/dev/clock/advance", json={"minutes": 30})
        assert moved.status_code == 200, moved.text
        assert datetime.fromisoformat(moved.json()["now"]) - before >= timedelta(minutes=30)
        sent = client.get("/dev/notifications").json()["notifications"]
        assert [n["to"] for n in sent] == [ADMIN_EMAIL, RESPONDER_EMAIL]
        with rest(dev) as api:
            [incident] = api.get("/incidents").json()["incidents"]
        assert [a["assignee"]["summary"] for a in incident["assignments"]] == ["Responder"]

        # `curl -d '{"minutes": 1}'` labels its JSON a form: read as JSON all the same.
        curl = client.post("/dev/clock/advance", content=b'{"minutes": 1}',
                           headers={"content-type": "application/x-www-form-urlencoded"})
        assert curl.status_code == 200, curl.text
        # The page's form (no JavaScript): a plain form post, then back to the page.
        form = client.post("/dev/clock/advance", data={"minutes": "5"})
        assert (form.status_code, form.headers["location"]) == (303, "/dev")
        page = client.get("/dev")
        assert page.headers["content-type"].startswith("text/html")
        assert "nightly-build failed" in page.text and RESPONDER_EMAIL in page.text and "refused" in page.text

        wrong = client.post("/dev/clock/advance", json={"minutes": -1, "fortnights": 1})
        assert wrong.status_code == 400
        assert wrong.json()["error"]["errors"] == [
            "fortnights: unknown unit (use weeks, days, hours, minutes, seconds)",
            "minutes: must be a number of zero or more"]
        for listed in ("requests", "notifications"):
            assert client.delete(f"/dev/{listed}").status_code == 204
            assert client.get(f"/dev/{listed}").json()[listed] == []
    assert not Path(dev["database"]).exists()  # the temporary database went with the server


def test_a_fast_clock_runs_at_its_rate(tmp_path: Path) -> None:
    with tocsin_dev(tmp_path, "--clock-rate", "120") as dev, httpx.Client(base_url=dev["url"]) as client:
        assert dev["clock_rate"] == 120
        first = datetime.fromisoformat(client.get("/dev/clock").json()["now"])
        time.sleep(1.0)
        second = datetime.fromisoformat(client.get("/dev/clock").json()["now"])
        assert timedelta(seconds=100) <= second - first <= timedelta(seconds=600)


def test_a_given_database_is_kept_and_reseeded_with_a_fresh_key(tmp_path: Path) -> None:
    database = tmp_path / "mine.db"
    with tocsin_dev(tmp_path, "--db", str(database)) as first:
        assert trigger(first, "kept").status_code == 202
        with rest(first) as api:
            assert api.get("/incidents", params={"incident_key": "kept"}).status_code == 200
    with tocsin_dev(tmp_path, "--db", str(database)) as second:
        assert (second["routing_key"], second["temporary_database"]) == (first["routing_key"], False)
        assert second["api_key"] != first["api_key"]
        with rest({**second, "api_key": first["api_key"]}) as old, rest(second) as new:
            assert old.get("/incidents").status_code == 401  # the earlier run's key was revoked
            assert [i["incident_key"] for i in new.get("/incidents").json()["incidents"]] == ["kept"]
    assert database.exists()
