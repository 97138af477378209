"""The package keeps every server command of the old single-module CLI, beside the new ones."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from tocsin.cli import app
from tocsin.cli import server as server_commands


def test_every_command_is_there() -> None:
    command = typer.main.get_command(app)
    assert isinstance(command, typer.main.TyperGroup)
    assert {"init", "serve", "engine", "run", "api-key", "oauth-client", "login", "logout", "profile", "incident",
            "oncall", "schedule", "event", "route", "api", "admin", "service", "policy", "user", "team",
            "webhook", "forwarder", "chat-webhook"} <= set(command.commands)
    admin = command.commands["admin"]
    assert isinstance(admin, typer.main.TyperGroup)
    assert set(admin.commands) == {"service", "policy", "user", "team", "api-key", "oauth-client", "webhook",
                                   "forwarder", "chat-webhook"}
    incident = command.commands["incident"]
    assert isinstance(incident, typer.main.TyperGroup)
    assert {"list", "show", "ack", "resolve", "note", "reassign", "snooze", "merge"} <= set(incident.commands)


def test_run_serves_with_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    # `run` calls `serve` directly: the engine flag must be False, not Typer's Option object.
    calls: list[object] = []
    monkeypatch.setattr(server_commands, "init", lambda as_json: calls.append(("init", as_json)))
    monkeypatch.setattr(server_commands, "serve", lambda no_engine: calls.append(("serve", no_engine)))
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    assert calls == [("init", False), ("serve", False)]


def test_the_help_documents_the_exit_codes() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert "0 ok, 1 the API refused or failed, 2 usage, 3 not found, 4 authentication" in result.stdout
