"""The running engine (its own loop, the real clock) delivers a change within moments of its commit:
the commit wakes it, a lane sends, the lane's recording wakes it again for the incident's next event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.conftest import Harness
from tests.webhooks.helpers import subscribe
from tests.webhooks.receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found


async def test_the_running_engine_delivers_each_change_promptly_and_in_order(harness: Harness,
                                                                              receiver: Receiver) -> None:
    h = harness
    await subscribe(h, receiver.url("/live"), events=["incident.triggered", "incident.acknowledged",
                                                      "incident.resolved"])
    h.tocsin.engine.start()
    try:
        started = time.monotonic()
        r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
            "type": "incident", "title": "live", "service": {"id": h.seed.service_id, "type": "service_reference"}}})
        incident = r.json()["incident"]["id"]
        for status in ("acknowledged", "resolved"):
            r = await h.client.put(f"/incidents/{incident}", headers=h.writer,
                                   json={"incident": {"type": "incident_reference", "status": status}})
            assert r.status_code == 200, r.text
        for _ in range(500):
            if len(receiver.at("/live")) >= 3:
                break
            await asyncio.sleep(0.01)
        took = time.monotonic() - started
    finally:
        await h.tocsin.engine.stop()
    assert [r.event["event_type"] for r in receiver.at("/live")] == [
        "incident.triggered", "incident.acknowledged", "incident.resolved"]
    assert took < 4.0, took  # woken by the commits and the lanes, not by the 5 s idle look
