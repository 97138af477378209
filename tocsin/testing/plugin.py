"""The pytest plugin Tocsin ships (entry point ``pytest11``): fixtures a test asks for by name.

``pagerduty``                  a fresh in-process Tocsin per test (``tocsin.testing.PagerDuty``)
``pagerduty_webhook_recorder`` makes local receivers that capture and verify signed webhook
                               deliveries (``tocsin.testing.WebhookRecorder``), closed after the test

Nothing here is autouse and the module imports no more than pytest at collection time, so the
plugin costs a test session that never asks for its fixtures nothing (Tocsin's own suite runs with
it installed). Override ``pagerduty_settings`` (a fixture returning a dict of Tocsin settings) in
a conftest to change the double's settings, e.g. ``{"events_rate_limit": 120}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tocsin.testing.double import PagerDuty
    from tocsin.testing.webhooks import WebhookRecorder


@pytest.fixture
def pagerduty_settings() -> dict[str, Any]:
    """Tocsin settings for the ``pagerduty`` fixture's instance; override to change them."""
    return {}


@pytest.fixture
def pagerduty(pagerduty_settings: dict[str, Any]) -> Iterator[PagerDuty]:
    """A real Tocsin standing in for PagerDuty, fresh for the test: seeded service, routing key,
    API key, a two-level escalation policy, captured notifications, a clock to move on."""
    from tocsin.testing.double import start_pagerduty

    with start_pagerduty(**pagerduty_settings) as handle:
        yield handle


@pytest.fixture
def pagerduty_webhook_recorder() -> Iterator[Callable[..., WebhookRecorder]]:
    """A factory: ``recorder = pagerduty_webhook_recorder(secret="...")`` starts a receiver at
    ``recorder.url``; every recorder made is stopped after the test."""
    from tocsin.testing.webhooks import WebhookRecorder

    made: list[WebhookRecorder] = []

    def make(secret: str | None = None, **kwargs: Any) -> WebhookRecorder:
        recorder = WebhookRecorder(secret, **kwargs)
        recorder.start()
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.stop()
