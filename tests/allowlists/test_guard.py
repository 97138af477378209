"""The request guard's loading: a slow read never undoes a newer change, and lists that cannot
be read at all are a 503 (never "no list, let everyone in")."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.conftest import Harness
from tocsin.allowlists.policy import REST_API

RESTRICTED = [{"state": "enabled", "applies_to": ["rest_api"], "cidr_entries": [{"cidr": "10.0.0.0/8"}]}]


async def test_a_read_started_before_a_change_does_not_overwrite_it(harness: Harness,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    guard = harness.tocsin.allow_lists
    release = asyncio.Event()

    async def slow_read(work: Any) -> list[dict[str, Any]]:
        await release.wait()
        return []  # what the database held when the read began

    monkeypatch.setattr(guard._db, "read", slow_read)
    reading = asyncio.create_task(guard.load())
    await asyncio.sleep(0)
    guard.install(RESTRICTED)  # a change committed meanwhile
    release.set()
    await reading
    assert guard.policy is not None and not guard.policy.admits(REST_API, "127.0.0.1")


async def test_unreadable_lists_refuse_with_503_in_each_apis_shape(harness: Harness,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(work: Any) -> None:
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(harness.tocsin.allow_lists._db, "read", broken)
    rest = await harness.client.get("/services", headers=harness.auth)
    assert rest.status_code == 503
    assert rest.json()["error"]["errors"] == ["The IP allow lists could not be read; retry later"]
    events = await harness.send(harness.event())
    assert events.status_code == 503 and events.json()["status"] == "error"


async def test_the_refresh_loop_keeps_the_last_lists_when_a_read_fails(
        harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    guard = harness.tocsin.allow_lists
    guard.install(RESTRICTED)
    calls = 0

    async def broken(work: Any) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(guard._db, "read", broken)
    guard.refresh_seconds = 0.01
    with caplog.at_level(logging.WARNING, logger="tocsin.allowlists.guard"):
        guard.start()
        try:
            for _ in range(200):
                if calls >= 2:
                    break
                await asyncio.sleep(0.01)
        finally:
            await guard.stop()
    assert calls >= 2
    assert "could not re-read the IP allow lists" in caplog.text
    assert guard.policy is not None and not guard.policy.admits(REST_API, "127.0.0.1")
