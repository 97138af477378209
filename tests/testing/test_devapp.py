"""``/dev``'s clock input, and where the dev routes are (only in the dev app, never in ``tocsin serve``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Harness, make_settings
from tocsin.api.app import Tocsin
from tocsin.clock import FrozenClock
from tocsin.testing.devapp import DevApp, parse_advance


@pytest.mark.parametrize(("fields", "expected"), [
    ({"minutes": 5}, timedelta(minutes=5)),
    ({"hours": 1, "minutes": 30, "seconds": 0.5}, timedelta(hours=1, minutes=30, seconds=0.5)),
    ({"weeks": 1, "days": 2}, timedelta(days=9)),
    ({"minutes": 0}, timedelta(0)),
])
def test_a_clock_move_is_read_from_timedelta_units(fields: dict[str, float], expected: timedelta) -> None:
    assert parse_advance(fields) == expected


@pytest.mark.parametrize(("fields", "error"), [
    (None, "send a JSON object"),
    ({}, "send a JSON object"),
    ([5], "send a JSON object"),
    ({"minutes": -1}, "minutes: must be a number of zero or more"),
    ({"minutes": "5"}, "minutes: must be a number of zero or more"),
    ({"minutes": True}, "minutes: must be a number of zero or more"),
    ({"minutes": float("inf")}, "minutes: must be a number of zero or more"),
    ({"months": 1}, "months: unknown unit"),
    ({"days": 400}, "at most 366 days"),
])
def test_a_bad_clock_move_says_what_is_wrong(fields: object, error: str) -> None:
    found = parse_advance(fields)
    assert isinstance(found, list) and any(error in e for e in found), found


async def test_tocsin_serve_has_no_dev_routes(harness: Harness) -> None:
    for path in ("/dev", "/dev/requests", "/dev/notifications", "/dev/clock"):
        assert (await harness.client.get(path, headers=harness.auth)).status_code == 404, path
    r = await harness.client.post("/dev/clock/advance", headers=harness.writer, json={"minutes": 5})
    assert r.status_code == 404
    assert (await harness.client.get("/dev/requests")).status_code == 401  # the gate, as for any path


async def test_the_dev_app_refuses_an_app_that_would_really_send(harness: Harness) -> None:
    clock = FrozenClock(datetime(2030, 1, 1, tzinfo=UTC))
    harness.tocsin.runtime.clock = clock
    with pytest.raises(RuntimeError, match="not captured"):
        DevApp(harness.tocsin, clock)
    captured = Tocsin(make_settings(harness.db_url, capture_notifications=True), start_worker=False)
    try:
        with pytest.raises(ValueError, match="the clock Tocsin reads"):
            DevApp(captured, clock)
        captured.runtime.clock = clock
        assert DevApp(captured, clock).clock is clock
    finally:
        await captured.db.dispose()
