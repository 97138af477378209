"""`tocsin export` and `tocsin apply` against real servers: export -> apply on an empty instance ->
export gives the same document (forwarders, chat webhooks and webhook subscriptions included, their
secrets never written out but named as environment variables apply reads); applying again changes
nothing; an edited file is planned diff-like and applied; deletes happen only with --prune (asked
first); a broken file is refused with every problem listed and no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.cli.conftest import Server, as_json, invoke, run
from tests.cli.seed import ok
from tests.config_as_code.servers import fresh_server
from tests.migrate.account import Account, seed
from tocsin.webhooks.models import ServiceDestination
from tocsin.webhooks.vault import vault

pytestmark = pytest.mark.e2e


# Secrets A's destinations were made with: never exported, carried to B through the variables the
# export names.
SECRETS = {"TOCSIN_FORWARDER_SERVICE_01_CENTRAL_PD_KEY": "k" * 32,
           "TOCSIN_CHAT_WEBHOOK_SERVICE_02_OPS_URL": "https://chat.example/hooks/SECRET-TOKEN",
           "TOCSIN_WEBHOOK_BRIDGE_AUTHORIZATION": "Bearer SECRET-BEARER"}


def destinations(server: Server, account: Account) -> None:
    """A forwarder, a chat webhook (acting as a user) and a webhook subscription with a secret header."""
    with server.rest() as rest:
        ok(rest.post(f"/services/{account.services['service-01']}/forwarders", json={"forwarder": {
            "description": "Central PD", "url": "https://events.example/v2/enqueue", "urgencies": ["high"],
            "integration_key": SECRETS["TOCSIN_FORWARDER_SERVICE_01_CENTRAL_PD_KEY"],
            "events": ["trigger", "resolve"]}}))
        ok(rest.post(f"/services/{account.services['service-02']}/chat_webhooks", json={"chat_webhook": {
            "description": "#ops", "url": SECRETS["TOCSIN_CHAT_WEBHOOK_SERVICE_02_OPS_URL"], "active": False,
            "acting_user_id": account.users["person00@example.com"]}}))
        ok(rest.post("/webhook_subscriptions", json={"webhook_subscription": {
            "type": "webhook_subscription", "description": "Bridge", "events": ["incident.triggered"],
            "filter": {"type": "service_reference", "id": account.services["service-03"]},
            "delivery_method": {"type": "http_delivery_method", "url": "https://hooks.example/pd", "custom_headers": [
                {"name": "Authorization", "value": SECRETS["TOCSIN_WEBHOOK_BRIDGE_AUTHORIZATION"]}]}}}))


def stored_key(server: Server) -> str:
    """The integration key B's forwarder holds (sealed in its database)."""
    engine = create_engine(f"sqlite:///{server.log_path.parent / 'tocsin.db'}")
    try:
        with Session(engine) as session:
            sealed = session.scalars(select(ServiceDestination.routing_key)
                                     .where(ServiceDestination.routing_key.is_not(None))).one()
            assert sealed is not None
            return vault(session, datetime.now(UTC)).open(sealed)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    with fresh_server(tmp_path_factory.mktemp("cac_a")) as a, fresh_server(tmp_path_factory.mktemp("cac_b")) as b:
        destinations(a, seed(a))
        yield a, b


def test_export_apply_export_round_trip_then_edits_and_prune(pair: tuple[Server, Server], tmp_path: Path) -> None:
    a, b = pair
    config = tmp_path / "cli.toml"
    exported = run(a, config, "export")  # as a shell would: tocsin export > tocsin.yaml
    assert exported.returncode == 0, exported.stderr
    document = yaml.safe_load(exported.stdout)
    assert len(document["users"]) == 21 and len(document["services"]) == 11 and len(document["schedules"]) == 5
    assert not [secret for secret in SECRETS.values() if secret in exported.stdout]
    assert document["forwarders"] == [{
        "service": "service-01", "description": "Central PD", "url": "https://events.example/v2/enqueue",
        "integration_key": {"env": "TOCSIN_FORWARDER_SERVICE_01_CENTRAL_PD_KEY"}, "events": ["resolve", "trigger"],
        "urgencies": ["high"], "active": True}]
    assert document["chat_webhooks"][0]["url"] == {"env": "TOCSIN_CHAT_WEBHOOK_SERVICE_02_OPS_URL"}
    [webhook] = document["webhook_subscriptions"]
    assert webhook["filter"] == {"service": "service-03"} and webhook["custom_headers"] == [
        {"name": "Authorization", "value": {"env": "TOCSIN_WEBHOOK_BRIDGE_AUTHORIZATION"}}]
    path = tmp_path / "tocsin.yaml"
    path.write_text(exported.stdout, encoding="utf-8")

    planned = invoke(b, config, "apply", str(path), "--plan")
    assert planned.exit_code == 0, planned.stderr
    assert "+ user person00@example.com" in planned.stdout and "+ schedule Platform primary" in planned.stdout
    assert "~ service Demo Service" in planned.stdout  # the empty instance's demo service gets A's key
    assert invoke(b, config, "export").stdout != exported.stdout  # --plan wrote nothing

    # A secret's variable unset: that object fails, saying which variable; the rest is applied.
    partly = invoke(b, config, "apply", str(path), "--json",
                    **{k: v for k, v in SECRETS.items() if "CHAT" not in k})
    failed = [o for o in as_json(partly)["outcomes"] if not o["ok"]]
    assert partly.exit_code == 1
    assert [(o["section"], o["key"]) for o in failed] == [("chat_webhooks", "service-02: #ops")]
    assert "environment variable TOCSIN_CHAT_WEBHOOK_SERVICE_02_OPS_URL is not set" in failed[0]["message"]
    applied = invoke(b, config, "apply", str(path), **SECRETS)
    assert applied.exit_code == 0, f"{applied.stdout}\n{applied.stderr}"
    assert "+ chat webhook service-02: #ops" in applied.stderr  # the only change left
    again = invoke(b, config, "export")
    assert again.stdout == exported.stdout
    assert stored_key(b) == SECRETS["TOCSIN_FORWARDER_SERVICE_01_CENTRAL_PD_KEY"]

    idle = invoke(b, config, "apply", str(path), "--json")
    assert idle.exit_code == 0 and as_json(idle)["plan"]["changes"] == []

    # An edited file: a field changed, a contact method dropped, a team added, a service dropped.
    for service in document["services"]:
        if service["name"] == "service-04":
            service["description"] = "Edited in git"
    person = next(u for u in document["users"] if u["email"] == "person01@example.com")
    person["contact_methods"] = [m for m in person["contact_methods"] if m["type"] != "phone"]
    document["teams"].append({"name": "SRE", "description": "new", "default_role": "manager", "parent": "Platform",
                              "members": [{"user": "person03@example.com", "role": "manager"}]})
    document["services"] = [s for s in document["services"] if s["name"] != "service-08"]
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    plan = invoke(b, config, "apply", str(path), "--plan")
    lines = plan.stdout.splitlines()
    assert '    description: "Service 4" -> "Edited in git"' in lines
    assert any(line.startswith("  - contact_methods[phone 5555550201]") for line in lines)
    assert "+ team SRE" in lines
    assert "- service service-08" not in lines  # deletes only with --prune
    assert lines[-1] == "Plan: 1 to create, 2 to update, 0 to delete, 48 unchanged."

    refused = invoke(b, config, "apply", str(path), "--prune")  # asks; no answer is no
    assert refused.exit_code == 1 and "Delete 1 object(s) as planned above?" in refused.stderr
    assert "- service service-08" in refused.stderr
    kept = yaml.safe_load(invoke(b, config, "export").stdout)
    assert "service-08" in {s["name"] for s in kept["services"]} and "SRE" not in {t["name"] for t in kept["teams"]}

    pruned = invoke(b, config, "apply", str(path), "--prune", "--yes", "--json")
    assert pruned.exit_code == 0, pruned.stdout
    outcome = {(o["section"], o["key"], o["action"]) for o in as_json(pruned)["outcomes"] if o["ok"]}
    assert ("services", "service-08", "delete") in outcome and ("teams", "SRE", "create") in outcome
    final = yaml.safe_load(invoke(b, config, "export").stdout)
    assert "service-08" not in {s["name"] for s in final["services"]}
    assert next(t for t in final["teams"] if t["name"] == "SRE")["parent"] == "Platform"
    edited = next(u for u in final["users"] if u["email"] == "person01@example.com")
    assert {m["type"] for m in edited["contact_methods"]} == {"email", "sms"}
    assert invoke(b, config, "apply", str(path), "--prune", "--json").exit_code == 0  # nothing left to do


def test_a_broken_document_is_refused_with_every_problem_and_no_traceback(
    pair: tuple[Server, Server], tmp_path: Path,
) -> None:
    _, b = pair
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nservices:\n  - name: x\n    colour: red\nusers:\n  - name: No email\n",
                    encoding="utf-8")
    result = run(b, tmp_path / "cli.toml", "apply", str(path))
    assert result.returncode == 2
    assert "services[0].colour: unknown field" in result.stderr
    assert "services[0].escalation_policy: is required" in result.stderr
    assert "users[0].email: is required" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    path.write_text("users: [\n", encoding="utf-8")
    broken = run(b, tmp_path / "cli.toml", "apply", str(path), "--plan")
    assert broken.returncode == 2 and "not valid YAML" in broken.stderr
