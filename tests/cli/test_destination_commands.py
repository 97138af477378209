"""`tocsin forwarder` and `tocsin chat-webhook` (list, create, delete, test, enable) and `tocsin
webhook enable|ping`, against a real `tocsin serve`: secrets come from the environment and are
never shown again; a relay is named by its id or its description."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import seed
from tests.cli.conftest import Server, as_json, invoke
from tocsin.cli import exits

pytestmark = pytest.mark.e2e  # a real `tocsin serve` process

KEY = "f" * 32
# The outbound guard refuses loopback here, so nothing is really sent anywhere.
UPSTREAM = "http://127.0.0.1:9/v2/enqueue"


def test_forwarders_and_chat_webhooks_of_a_service(server: Server, config: Path) -> None:
    name = seed.unique("Edge")
    seed.service(server, name)
    made = invoke(server, config, "forwarder", "create", name, "--description", "Central PD", "--url", UPSTREAM,
                  "--event", "trigger", "--event", "resolve", "--urgency", "high", "--json",
                  TOCSIN_FORWARDER_INTEGRATION_KEY=KEY)
    assert made.exit_code == 0, made.output
    forwarder = as_json(made)
    assert (forwarder["events"], forwarder["urgencies"], forwarder["integration_key"]) == (
        ["trigger", "resolve"], ["high"], "-- redacted --")
    chat = invoke(server, config, "admin", "chat-webhook", "create", name, "--description", "#ops",
                  "--url", "https://chat.example/hooks/T0K3N", "--acting-user", "me")
    assert chat.exit_code == 0 and chat.stdout.startswith("Created chat webhook P"), chat.output

    listed = invoke(server, config, "forwarder", "list", name)
    assert "Central PD" in listed.stdout and UPSTREAM in listed.stdout and KEY not in listed.stdout
    [shown] = as_json(invoke(server, config, "chat-webhook", "list", name, "--json"))
    assert "T0K3N" not in str(shown) and shown["acting_user"]["type"] == "user_reference"

    tested = invoke(server, config, "forwarder", "test", name, "central pd")  # by description, any case
    assert tested.exit_code == 0 and tested.stdout.startswith("Queued test deliveries "), tested.output
    assert invoke(server, config, "forwarder", "enable", name, forwarder["id"]).exit_code == 0

    assert invoke(server, config, "chat-webhook", "delete", name, "#ops", input="n\n").exit_code == exits.API_ERROR
    assert invoke(server, config, "chat-webhook", "delete", name, "#ops", "--yes").exit_code == 0
    assert as_json(invoke(server, config, "chat-webhook", "list", name, "--json")) == []
    missing = invoke(server, config, "forwarder", "delete", name, "nothing", "--yes")
    assert missing.exit_code == exits.NOT_FOUND and "tocsin forwarder list" in missing.stderr
    no_key = invoke(server, config, "forwarder", "create", name, "--description", "x")
    assert no_key.exit_code == exits.USAGE and "--integration-key" in no_key.output
    assert invoke(server, config, "forwarder", "delete", name, forwarder["id"], "--yes").exit_code == 0


def test_a_webhook_subscription_is_pinged_and_enabled(server: Server, config: Path) -> None:
    created = as_json(invoke(server, config, "webhook", "create", "--url", "https://hooks.example/ping",
                             "--description", seed.unique("pinged"), "--json"))
    pinged = invoke(server, config, "webhook", "ping", created["id"])
    assert pinged.exit_code == 0 and pinged.stdout.startswith("Queued ping "), pinged.output
    assert invoke(server, config, "webhook", "enable", created["id"]).exit_code == 0
    assert invoke(server, config, "webhook", "ping", "PNOSUCH").exit_code == exits.NOT_FOUND
    assert invoke(server, config, "webhook", "delete", created["id"], "--yes").exit_code == 0
