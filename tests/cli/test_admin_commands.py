"""Administration through the REST API (services, policies, users, teams, API keys, OAuth
clients, webhook subscriptions), ``tocsin api``, and ``--json`` on every listing."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.cli import seed
from tests.cli.conftest import Server, as_json, invoke, run
from tests.client.stub import Reply, Seen, stub_server
from tocsin.cli import exits

pytestmark = pytest.mark.e2e  # a real `tocsin serve` process


def test_a_team_user_policy_and_service_are_made_shown_and_deleted(server: Server, config: Path) -> None:
    team = invoke(server, config, "team", "create", "--name", seed.unique("SRE"), "--json")
    assert team.exit_code == 0, team.output
    team_id = as_json(team)["id"]
    email = f"{seed.unique('carol')}@example.com"
    user = as_json(invoke(server, config, "user", "create", "--name", "Carol", "--email", email, "--json"))
    assert user["email"] == email
    policy_name = seed.unique("Carol first")
    policy = invoke(server, config, "policy", "create", "--name", policy_name, "--target", email, "--delay", "5")
    assert policy.exit_code == 0 and "Created escalation policy P" in policy.stdout
    shown = invoke(server, config, "policy", "show", policy_name)
    assert "1. user Carol  (escalates after 5 min)" in shown.stdout
    service_name = seed.unique("Checkout")
    service = invoke(server, config, "service", "create", "--name", service_name, "--policy", policy_name,
                     "--integration", "Datadog", "--auto-resolve", "0")
    assert service.exit_code == 0, service.output
    key = service.stdout.rsplit("routing key ", 1)[1].strip()
    assert len(key) == 32
    detail = invoke(server, config, "service", "show", service_name)
    assert key in detail.stdout and "Datadog" in detail.stdout and policy_name in detail.stdout
    listed = as_json(invoke(server, config, "service", "list", "--query", service_name, "--json"))
    assert [s["name"] for s in listed] == [service_name] and listed[0]["auto_resolve_timeout"] in (0, None)
    # Deleting asks; no answer deletes nothing.
    kept = invoke(server, config, "service", "delete", service_name, input="n\n")
    assert kept.exit_code == exits.API_ERROR and f"Delete service {listed[0]['id']} ({service_name})?" in kept.stderr
    assert invoke(server, config, "service", "delete", service_name, "--yes").exit_code == 0
    assert invoke(server, config, "service", "show", listed[0]["id"]).exit_code == exits.NOT_FOUND
    assert invoke(server, config, "policy", "delete", policy_name, "--yes").exit_code == 0
    assert invoke(server, config, "admin", "user", "delete", email, "--yes").exit_code == 0
    assert invoke(server, config, "team", "delete", team_id, "--yes").exit_code == 0
    assert invoke(server, config, "team", "show", team_id).exit_code == exits.NOT_FOUND


def test_create_takes_the_apis_own_body_too(server: Server, config: Path, tmp_path: Path) -> None:
    body = tmp_path / "team.json"
    body.write_text(json.dumps({"team": {"name": seed.unique("From file"), "description": "kept"}}))
    made = as_json(invoke(server, config, "team", "create", "--data", f"@{body}", "--json"))
    assert made["description"] == "kept"
    missing = invoke(server, config, "service", "create", "--name", "x")
    assert missing.exit_code == exits.USAGE and "--policy" in missing.stderr


def test_api_keys_through_the_rest_api_show_the_secret_once(server: Server, config: Path) -> None:
    created = run(server, config, "admin", "api-key", "create", "--description", "ci", "--read-only")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert len(secret) == 20 and "shown once" in created.stderr
    assert httpx.get(f"{server.url}/abilities", headers={"Authorization": f"Token token={secret}"}).status_code == 200
    listed = invoke(server, config, "admin", "api-key", "list")
    assert secret not in listed.output and f"…{secret[-4:]}" in listed.stdout
    key_id = next(k["id"] for k in as_json(invoke(server, config, "admin", "api-key", "list", "--json"))
                  if k["description"] == "ci")
    assert invoke(server, config, "admin", "api-key", "delete", key_id, "--yes").exit_code == 0
    assert httpx.get(f"{server.url}/abilities", headers={"Authorization": f"Token token={secret}"}).status_code == 401


def test_oauth_clients_through_the_rest_api(server: Server, config: Path) -> None:
    created = invoke(server, config, "admin", "oauth-client", "create", "--name", "grafana", "--scope",
                     "incidents.read")
    assert created.exit_code == 0, created.output
    client_id = created.stdout.split("client_id:", 1)[1].split()[0]
    secret = created.stdout.split("client_secret:", 1)[1].split()[0]
    token = httpx.post(f"{server.url}/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                          "client_secret": secret, "scope": "incidents.read"})
    assert token.status_code == 200, token.text
    shown = as_json(invoke(server, config, "admin", "oauth-client", "show", client_id, "--json"))
    assert shown["scopes"] == ["incidents.read"] and "client_secret" not in json.dumps(shown)
    assert invoke(server, config, "admin", "oauth-client", "delete", client_id, "--yes").exit_code == 0


def test_webhook_subscriptions_are_made_at_pagerdutys_paths(server: Server, config: Path) -> None:
    subscriptions: list[dict[str, object]] = []

    def webhooks(request: Seen) -> Reply:
        if request.method == "POST":
            item = {**request.body["webhook_subscription"], "id": "PWEBHK1", "active": True}
            item["delivery_method"] = {**item["delivery_method"], "secret": "whsec-shown-once"}
            subscriptions.append(item)
            return Reply(200, {"webhook_subscription": item})  # PagerDuty answers 200 here
        if request.path == "/webhook_subscriptions":
            return Reply(200, {"webhook_subscriptions": subscriptions, "limit": 100, "offset": 0, "more": False})
        if request.method == "GET":
            return Reply(200, {"webhook_subscription": subscriptions[0]})
        return Reply(204)

    with stub_server(webhooks) as stub:
        made = invoke(server, config, "webhook", "create", "--url", "https://hooks.example.com/pd", "--event",
                      "incident.triggered", "--event", "incident.resolved", "--description", "chat",
                      TOCSIN_API_URL=stub.url)
        listed = invoke(server, config, "webhook", "list", TOCSIN_API_URL=stub.url)
        deleted = invoke(server, config, "webhook", "delete", "PWEBHK1", "--yes", TOCSIN_API_URL=stub.url)
    assert made.exit_code == 0, made.output
    assert "Signing secret: whsec-shown-once" in made.stdout
    assert stub.seen[0].body == {"webhook_subscription": {
        "type": "webhook_subscription", "delivery_method": {"type": "http_delivery_method",
                                                            "url": "https://hooks.example.com/pd"},
        "events": ["incident.triggered", "incident.resolved"], "filter": {"type": "account_reference"},
        "description": "chat"}}
    assert "https://hooks.example.com/pd" in listed.stdout and "account" in listed.stdout
    assert deleted.exit_code == 0
    assert [(r.method, r.path) for r in stub.seen][-2:] == [("GET", "/webhook_subscriptions/PWEBHK1"),
                                                            ("DELETE", "/webhook_subscriptions/PWEBHK1")]


def test_the_raw_api_escape_hatch(server: Server, config: Path, tmp_path: Path) -> None:
    me = run(server, config, "api", "GET", "/services", "-q", f"query={server.service_id[:0]}Demo")
    assert me.returncode == 0 and server.service_id in me.stdout
    team_file = tmp_path / "team.json"
    team_file.write_text(json.dumps({"team": {"name": seed.unique("raw")}}))
    created = as_json(invoke(server, config, "api", "POST", "teams", "--data", f"@{team_file}"))
    team_id = created["team"]["id"]
    piped = invoke(server, config, "api", "PUT", f"/teams/{team_id}", "--data", "-",
                   input=json.dumps({"team": {"name": created["team"]["name"], "description": "via stdin"}}))
    assert as_json(piped)["team"]["description"] == "via stdin"
    deleted = invoke(server, config, "api", "DELETE", f"/teams/{team_id}")
    assert deleted.exit_code == 0 and deleted.stdout == ""  # 204: nothing to print
    for n in range(3):
        invoke(server, config, "team", "create", "--name", seed.unique(f"page{n}"))
    every = as_json(invoke(server, config, "api", "GET", "/teams", "-q", "limit=1", "--all"))
    assert isinstance(every, list) and len(every) >= 3
    records = as_json(invoke(server, config, "api", "GET", "/audit/records", "-q", "limit=2", "--all"))
    assert isinstance(records, list) and len(records) > 2  # followed next_cursor
    repeated = as_json(invoke(server, config, "api", "GET", "/incidents", "-q", "statuses[]=triggered", "-q",
                              "statuses[]=acknowledged", "-q", "date_range=all"))
    assert {i["status"] for i in repeated["incidents"]} <= {"triggered", "acknowledged"}


@pytest.mark.parametrize("args", [
    ("incident", "list"), ("oncall",), ("schedule", "list"), ("service", "list"), ("policy", "list"),
    ("user", "list"), ("team", "list"), ("webhook", "list"), ("admin", "api-key", "list"),
    ("admin", "oauth-client", "list"), ("profile", "list"), ("service", "show", "Demo Service"),
])
def test_json_everywhere_is_parseable(server: Server, config: Path, args: tuple[str, ...]) -> None:
    if args[0] == "webhook":  # another part of Tocsin serves these; PagerDuty's paths, answered here
        with stub_server(lambda r: Reply(200, {"webhook_subscriptions": [], "more": False})) as stub:
            result = invoke(server, config, *args, "--json", TOCSIN_API_URL=stub.url)
    else:
        result = invoke(server, config, *args, "--json")
    assert result.exit_code == 0, result.output
    assert isinstance(as_json(result), list | dict)
