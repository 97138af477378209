"""Tocsin as a PagerDuty test double: the ``pagerduty`` pytest fixture (``plugin``), the handle
it yields (``PagerDuty``), a webhook recorder, and ``tocsin dev`` (``dev``).

Names are imported on first use: the pytest plugin loads this package in every test session of
an environment where Tocsin is installed, and must cost nothing until a test asks for a fixture.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tocsin.testing.double import PagerDuty, start_pagerduty
    from tocsin.testing.inspector import ReceivedRequest
    from tocsin.testing.outbox import SentNotification
    from tocsin.testing.webhooks import Delivery, WebhookRecorder, load, replay, sign, verify

_WHERE = {
    "PagerDuty": "double", "start_pagerduty": "double", "ReceivedRequest": "inspector",
    "SentNotification": "outbox", "Delivery": "webhooks", "WebhookRecorder": "webhooks", "load": "webhooks",
    "replay": "webhooks", "sign": "webhooks", "verify": "webhooks",
}
__all__ = ["Delivery", "PagerDuty", "ReceivedRequest", "SentNotification", "WebhookRecorder", "load", "replay",
           "sign", "start_pagerduty", "verify"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tocsin.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tocsin.testing.{module}"), name)
