"""Shared setup of the maintenance tests: a harness on a frozen clock and window helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Harness
from tocsin.clock import FrozenClock

T0 = datetime(2030, 1, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def freeze(h: Harness, at: datetime = T0) -> FrozenClock:
    clock = FrozenClock(at)
    h.tocsin.runtime.clock = clock
    return clock


def clock(h: Harness) -> FrozenClock:
    c = h.tocsin.runtime.clock
    assert isinstance(c, FrozenClock)
    return c


def window_body(start: datetime, end: datetime, services: list[str], description: str | None = "Upgrading the database",
                ) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "maintenance_window", "start_time": stamp(start), "end_time": stamp(end),
                            "services": [{"id": s, "type": "service_reference"} for s in services]}
    if description is not None:
        body["description"] = description
    return {"maintenance_window": body}


async def create_window(h: Harness, start: datetime, end: datetime, services: list[str] | None = None,
                        description: str | None = "Upgrading the database") -> httpx.Response:
    services = services if services is not None else [h.seed.service_id or ""]
    return await h.client.post("/maintenance_windows", json=window_body(start, end, services, description),
                               headers=h.writer)


async def window_id(h: Harness, start: datetime, end: datetime, **kwargs: Any) -> str:
    resp = await create_window(h, start, end, **kwargs)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["maintenance_window"]["id"])
