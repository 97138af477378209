"""Real servers for the channel tests (tests/notifications/servers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.certificates import Certificate, make_certificate
from tests.notifications.servers import SmtpServer, TwilioDouble, running_smtp, running_twilio


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def twilio_server() -> Iterator[TwilioDouble]:
    with running_twilio() as double:
        yield double


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"), "127.0.0.1")
