"""Exit codes scripts can rely on, and errors printed as the server's message and a hint — never
a traceback — for every way a command can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Server, invoke, run
from tests.client.stub import Reply, stub_server
from tocsin.cli import exits

pytestmark = pytest.mark.e2e  # a real `tocsin serve` process


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr and 'File "' not in stderr, stderr
    assert stderr.startswith("error: "), stderr


def test_not_found_exits_3_with_the_servers_message(server: Server, config: Path) -> None:
    result = run(server, config, "incident", "show", "PNOSUCHTHING1")
    assert result.returncode == exits.NOT_FOUND
    assert_clean(result.stderr)
    assert "not found (HTTP 404)" in result.stderr and "hint: check the id" in result.stderr
    named = run(server, config, "schedule", "show", "No Such Schedule")
    assert named.returncode == exits.NOT_FOUND and "no schedule is named 'No Such Schedule'" in named.stderr
    assert "tocsin schedule list" in named.stderr


def test_a_bad_token_exits_4_and_says_to_log_in(server: Server, config: Path) -> None:
    result = run(server, config, "incident", "list", TOCSIN_API_TOKEN="z" * 20)
    assert result.returncode == exits.AUTH
    assert_clean(result.stderr)
    assert "Authentication failed (HTTP 401)" in result.stderr
    assert "hint: check your token: tocsin login" in result.stderr


def test_no_credential_at_all_exits_4(server: Server, config: Path) -> None:
    result = run(server, config, "oncall", TOCSIN_API_TOKEN="", TOCSIN_API_URL="")
    assert result.returncode == exits.AUTH and "run: tocsin login" in result.stderr
    assert_clean(result.stderr)


def test_a_read_only_key_writing_exits_4(server: Server, config: Path) -> None:
    key = invoke(server, config, "admin", "api-key", "create", "--read-only", "--description", "ro")
    assert key.exit_code == 0, key.output
    result = run(server, config, "team", "create", "--name", "never", TOCSIN_API_TOKEN=key.stdout.strip())
    assert result.returncode == exits.AUTH and "(HTTP 403)" in result.stderr
    assert "read-only key" in result.stderr
    assert_clean(result.stderr)


def test_no_server_exits_5(server: Server, config: Path) -> None:
    with stub_server() as stub:
        gone = stub.url  # nothing listens here any more
    result = run(server, config, "incident", "list", TOCSIN_API_URL=gone)
    assert result.returncode == exits.UNREACHABLE
    assert_clean(result.stderr)
    assert "no answer from" in result.stderr and "is the server running" in result.stderr


def test_rate_limited_to_the_end_exits_6(server: Server, config: Path) -> None:
    refuse = Reply(429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}}, {"ratelimit-reset": "0"})
    with stub_server(lambda request: refuse) as stub:
        result = invoke(server, config, "incident", "list", TOCSIN_API_URL=stub.url)
    assert result.exit_code == exits.RATE_LIMITED
    assert len(stub.seen) == 6  # the first try and five retries, each after the server's ratelimit-reset
    assert "rate limited; retrying in" in result.stderr
    assert "Rate Limit Exceeded (HTTP 429)" in result.stderr and "hint: rate limited" in result.stderr


def test_a_refused_write_exits_1_with_each_error(server: Server, config: Path) -> None:
    result = run(server, config, "api", "POST", "/services", "--data", '{"service": {"name": ""}}')
    assert result.returncode == exits.API_ERROR
    assert_clean(result.stderr)
    assert "(HTTP 400)" in result.stderr and "\n  - " in result.stderr  # the server's errors[], one a line


def test_a_write_without_a_from_email_says_how_to_give_one(server: Server, config: Path) -> None:
    result = run(server, config, "incident", "note", "PNOSUCHTHING1", "-m", "x", TOCSIN_API_FROM="")
    assert result.returncode == exits.API_ERROR
    assert "hint: writes need the email of a user: tocsin login --from EMAIL" in result.stderr


@pytest.mark.parametrize("args", [
    ("incident", "list", "--since", "the day after"),
    ("incident", "list", "--columns", "nope"),
    ("incident", "list", "--status", "sleeping"),
    ("incident", "snooze", "PX", "--for", "forever"),
    ("schedule", "show", "x", "--days", "0"),
    ("event", "trigger", "-k", "k", "-s", "x", "--severity", "loud"),
    ("event", "trigger", "-k", "k", "-s", "x", "-d", "novalue"),
    ("api", "FETCH", "/x"),
    ("incident", "list", "--no-such-option"),
])
def test_usage_errors_exit_2(server: Server, config: Path, args: tuple[str, ...]) -> None:
    result = invoke(server, config, *args)
    assert result.exit_code == exits.USAGE, result.output
    assert "Traceback" not in result.output


def test_a_name_matching_several_things_is_a_usage_error_listing_them(server: Server, config: Path) -> None:
    for name in ("Ambiguous One", "Ambiguous Two"):
        assert invoke(server, config, "team", "create", "--name", name).exit_code == 0
    result = invoke(server, config, "incident", "list", "--team", "Ambiguous")
    assert result.exit_code == exits.USAGE
    assert "'Ambiguous' matches 2 teams" in result.stderr
    assert "Ambiguous One (P" in result.stderr and "Ambiguous Two (P" in result.stderr
    exact = invoke(server, config, "incident", "list", "--team", "ambiguous one", "--json")
    assert exact.exit_code == 0, exact.output
