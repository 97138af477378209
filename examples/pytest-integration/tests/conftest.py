"""The `pagerduty` fixture comes from Tocsin's pytest plugin (installed with Tocsin): a fresh,
real Tocsin per test. These fixtures point the code under test, and the official client, at it."""

from __future__ import annotations

from collections.abc import Iterator

import pagerduty as pagerduty_api  # the PyPI client; `pagerduty` below is Tocsin's fixture
import pytest
from incident_reporter import IncidentReporter


@pytest.fixture
def reporter(pagerduty) -> IncidentReporter:
    # In production: IncidentReporter(os.environ["PD_ROUTING_KEY"]) and PagerDuty's default URL.
    return IncidentReporter(pagerduty.routing_key, events_url=pagerduty.events_url, source="billing-1")


@pytest.fixture
def rest(pagerduty) -> Iterator[pagerduty_api.RestApiV2Client]:
    # The official REST client insists on https: Tocsin serves it with a throwaway certificate
    # that `ssl_context` trusts (pagerduty.rest_client() builds this same client).
    client = pagerduty_api.RestApiV2Client(pagerduty.api_key, default_from=pagerduty.admin_email,
                                           base_url=pagerduty.https_url, verify=pagerduty.ssl_context)
    yield client
    client.close()
