"""Bounded polling through the official client: events are processed just after their 202."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pagerduty

T = TypeVar("T")

POLL_TIMEOUT = 5.0
POLL_INTERVAL = 0.05


def answer(error: pagerduty.HttpError) -> Any:
    """The HTTP answer behind a client error (the client keeps it as ``response``)."""
    assert error.response is not None, error
    return error.response


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_for(fetch: Callable[[], T], accept: Callable[[T], bool], what: str, timeout: float = POLL_TIMEOUT) -> T:
    """Call ``fetch`` until ``accept`` holds for its result; fail after ``timeout`` seconds with the last one."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if accept(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}; last seen: {value!r}")
        time.sleep(POLL_INTERVAL)


def incidents_with_key(rest: pagerduty.RestApiV2Client, incident_key: str) -> list[dict[str, Any]]:
    return rest.list_all("incidents", params={"incident_key": incident_key, "date_range": "all"})


def wait_for_incident(
    rest: pagerduty.RestApiV2Client, incident_key: str, status: str | None = None
) -> dict[str, Any]:
    """The one incident with ``incident_key``, once it exists (and has ``status``, if given)."""
    found = wait_for(
        lambda: incidents_with_key(rest, incident_key),
        lambda items: len(items) >= 1 and (status is None or items[0]["status"] == status),
        f"incident with incident_key={incident_key!r}" + (f" in status {status!r}" if status else ""),
    )
    assert len(found) == 1, f"expected one incident for {incident_key!r}, got {len(found)}: {found}"
    return found[0]


def default_policy(rest: pagerduty.RestApiV2Client) -> dict[str, str]:
    """A reference to the "Default" escalation policy ``tocsin init`` made (services need one)."""
    policy = rest.find("escalation_policies", "Default")
    assert policy is not None, "no Default escalation policy"
    return {"id": policy["id"], "type": "escalation_policy_reference"}
