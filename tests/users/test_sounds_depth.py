"""A push contact method's ``sounds`` is stored as free JSON: nested too deeply, it is a 400."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness
from tests.helpers import assert_error
from tocsin.jsondepth import MAX_NESTING_DEPTH


def _sounds(levels: int) -> list[dict[str, Any]]:
    """``levels`` deep in all: the list and its object are two of them."""
    file: Any = "default"
    for _ in range(levels - 2):
        file = [file]
    return [{"type": "alert_high_urgency", "file": file}]


def _method(levels: int) -> dict[str, Any]:
    return {"contact_method": {"type": "push_notification_contact_method", "label": "phone",
                               "address": "device-token", "device_type": "ios", "sounds": _sounds(levels)}}


@pytest.mark.parametrize("levels", [MAX_NESTING_DEPTH + 1, 300])
async def test_sounds_nested_too_deeply_are_a_400_and_nothing_is_written(harness: Harness, levels: int) -> None:
    user = (await harness.client.get("/users", headers=harness.auth)).json()["users"][0]["id"]
    answer = await harness.client.post(f"/users/{user}/contact_methods", json=_method(levels), headers=harness.writer)
    error = assert_error(answer, 400, 2001)
    assert any("nested too deeply" in e for e in error["errors"]), error
    methods = (await harness.client.get(f"/users/{user}/contact_methods", headers=harness.auth)).json()
    assert all(m["type"] != "push_notification_contact_method" for m in methods["contact_methods"])


async def test_sounds_at_the_limit_are_stored_and_shown(harness: Harness) -> None:
    user = (await harness.client.get("/users", headers=harness.auth)).json()["users"][0]["id"]
    answer = await harness.client.post(f"/users/{user}/contact_methods", json=_method(MAX_NESTING_DEPTH),
                                       headers=harness.writer)
    assert answer.status_code == 201, answer.text[:300]
    shown = await harness.client.get(f"/users/{user}/contact_methods/{answer.json()['contact_method']['id']}",
                                     headers=harness.auth)
    assert shown.json()["contact_method"]["sounds"] == _sounds(MAX_NESTING_DEPTH)
