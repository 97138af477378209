"""`tocsin export` and `tocsin apply` against real servers: export -> apply on an empty instance ->
export gives the same document; applying again changes nothing; an edited file is planned
diff-like and applied; deletes happen only with --prune (asked first); a broken file is refused
with every problem listed and no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import Server, as_json, invoke, run
from tests.config_as_code.servers import fresh_server
from tests.migrate.account import seed

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    with fresh_server(tmp_path_factory.mktemp("cac_a")) as a, fresh_server(tmp_path_factory.mktemp("cac_b")) as b:
        seed(a)
        yield a, b


def test_export_apply_export_round_trip_then_edits_and_prune(pair: tuple[Server, Server], tmp_path: Path) -> None:
    a, b = pair
    config = tmp_path / "cli.toml"
    exported = run(a, config, "export")  # as a shell would: tocsin export > tocsin.yaml
    assert exported.returncode == 0, exported.stderr
    document = yaml.safe_load(exported.stdout)
    assert len(document["users"]) == 21 and len(document["services"]) == 11 and len(document["schedules"]) == 5
    path = tmp_path / "tocsin.yaml"
    path.write_text(exported.stdout, encoding="utf-8")

    planned = invoke(b, config, "apply", str(path), "--plan")
    assert planned.exit_code == 0, planned.stderr
    assert "+ user person00@example.com" in planned.stdout and "+ schedule Platform primary" in planned.stdout
    assert "~ service Demo Service" in planned.stdout  # the empty instance's demo service gets A's key
    assert invoke(b, config, "export").stdout != exported.stdout  # --plan wrote nothing

    applied = invoke(b, config, "apply", str(path))
    assert applied.exit_code == 0, f"{applied.stdout}\n{applied.stderr}"
    again = invoke(b, config, "export")
    assert again.stdout == exported.stdout

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
    assert lines[-1] == "Plan: 1 to create, 2 to update, 0 to delete, 45 unchanged."

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
