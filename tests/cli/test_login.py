"""``tocsin login``, ``profile``, ``logout``: a private profile file, tokens never printed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.cli.conftest import Server, as_json, invoke, run
from tocsin.cli import exits

pytestmark = pytest.mark.e2e  # a real `tocsin serve` process

NO_ENV = {"TOCSIN_API_URL": "", "TOCSIN_API_TOKEN": "", "TOCSIN_API_FROM": ""}


def test_login_saves_a_private_profile_the_commands_then_use(server: Server, config: Path) -> None:
    result = invoke(server, config, "login", "--url", server.url, "--from", server.admin_email,
                    "--profile", "local", input=f"{server.api_key}\n", **NO_ENV)
    assert result.exit_code == 0, result.output
    assert server.api_key not in result.output  # the prompt hides it, and nothing echoes it
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert server.api_key in config.read_text()
    listed = invoke(server, config, "profile", "list", **NO_ENV)
    assert "local (default)" in listed.stdout and server.url in listed.stdout and "set" in listed.stdout
    assert server.api_key not in listed.output
    rows = as_json(invoke(server, config, "profile", "list", "--json", **NO_ENV))
    assert rows == [{"name": "local", "default": True, "url": server.url, "from": server.admin_email,
                     "events_url": server.url, "token": "set", "from_environment": []}]
    # Only the file now: a REST command reaches the server with it (a process, as a shell runs it).
    listing = run(server, config, "service", "list", "--json", **NO_ENV)
    assert listing.returncode == 0, listing.stderr
    assert server.service_id in {s["id"] for s in as_json(listing)}
    assert invoke(server, config, "logout", "--profile", "local", **NO_ENV).exit_code == 0
    assert server.api_key not in config.read_text()
    gone = run(server, config, "service", "list", **NO_ENV)
    assert gone.returncode == exits.AUTH and "tocsin login" in gone.stderr


def test_a_token_the_server_refuses_is_not_saved(server: Server, config: Path) -> None:
    result = invoke(server, config, "login", "--url", server.url, "--token", "x" * 20, **NO_ENV)
    assert result.exit_code == exits.AUTH
    assert "refused this token" in result.stderr and "nothing was saved" in result.stderr
    assert not config.exists()


def test_the_environment_overrides_a_profile_and_profile_selects_one(server: Server, config: Path) -> None:
    for name, token in (("good", server.api_key), ("bad", "y" * 20)):
        saved = invoke(server, config, "login", "--url", server.url, "--token", token, "--no-verify",
                       "--profile", name, **NO_ENV)
        assert saved.exit_code == 0, saved.output
    assert invoke(server, config, "team", "list", **NO_ENV).exit_code == 0  # "good" came first: the default
    assert invoke(server, config, "team", "list", "--profile", "bad", **NO_ENV).exit_code == exits.AUTH
    assert invoke(server, config, "team", "list", "--profile", "bad", TOCSIN_API_TOKEN=server.api_key,
                  TOCSIN_API_URL="", TOCSIN_API_FROM="").exit_code == 0
    assert invoke(server, config, "profile", "use", "bad", **NO_ENV).exit_code == 0
    assert invoke(server, config, "team", "list", **NO_ENV).exit_code == exits.AUTH
    unknown = invoke(server, config, "team", "list", "--profile", "nope", **NO_ENV)
    assert unknown.exit_code == exits.USAGE and "no profile named 'nope'" in unknown.stderr
