"""``tocsin incident`` and ``tocsin event`` against a running server: the real commands, in-process
(CliRunner) and as processes, chained through pipes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import seed
from tests.cli.conftest import Server, as_json, invoke, run, shell
from tocsin.cli import exits

pytestmark = pytest.mark.e2e  # a real `tocsin serve` process


def test_trigger_prints_the_dedup_key_and_the_incident_follows(server: Server, config: Path) -> None:
    service_id, key = seed.service(server)
    sent = run(server, config, "event", "trigger", "-k", key, "-s", "Disk full on db1", "--severity", "warning",
               "--source", "db1", "-d", "mount=/var", "--details", '{"free_pct": 3}', "--link",
               "runbook=https://wiki.example.com/disk")
    assert sent.returncode == 0, sent.stderr
    dedup = sent.stdout.strip()
    assert len(dedup) >= 8 and "\n" not in dedup
    [incident] = seed.wait_incidents(server, service_id, 1)
    assert incident["incident_key"] == dedup and incident["title"] == "Disk full on db1"
    with server.rest() as rest:
        [alert] = seed.ok(rest.get(f"/incidents/{incident['id']}/alerts"))["alerts"]
    assert alert["body"]["details"] == {"mount": "/var", "free_pct": 3}
    assert alert["severity"] == "warning"
    # The follow-ups find it by that key.
    acked = run(server, config, "event", "ack", "-k", key, "--dedup-key", dedup, "--json")
    assert acked.returncode == 0 and as_json(acked)["dedup_key"] == dedup
    resolved = invoke(server, config, "event", "resolve", "-k", key, "--dedup-key", dedup)
    assert resolved.exit_code == 0 and resolved.stdout.strip() == dedup
    change = invoke(server, config, "event", "change", "-k", key, "-s", "Deployed v42", "-d", "sha=abc")
    assert change.exit_code == 0, change.output
    def deployed() -> bool:  # change events, too, are processed just after their 202
        with server.rest() as rest:
            changes = seed.ok(rest.get("/change_events"))["change_events"]
        return any(c["summary"] == "Deployed v42" and c["custom_details"] == {"sha": "abc"} for c in changes)

    seed.wait_until(deployed, "the change event")


def test_list_pipe_chains_into_ack_and_note(any_server: Server, config: Path) -> None:
    server = any_server
    service_id, key = seed.service(server)
    for n in range(3):
        seed.trigger(server, key, f"chain-{n}")
    ids = {i["id"] for i in seed.wait_incidents(server, service_id, 3)}
    acked = shell(server, config, f"tocsin incident list --service {service_id} --pipe | tocsin incident ack --pipe")
    assert acked.returncode == 0, acked.stderr
    assert set(acked.stdout.split()) == ids  # ack --pipe prints what it acknowledged, to chain further
    assert {i["status"] for i in seed.incidents(server, service_id)} == {"acknowledged"}
    noted = shell(server, config, f"tocsin incident list --service {service_id} --status acknowledged --pipe"
                                  " | tocsin incident note --pipe -m 'looking into it'")
    assert noted.returncode == 0, noted.stderr
    with server.rest() as rest:
        for incident_id in ids:
            notes = seed.ok(rest.get(f"/incidents/{incident_id}/notes"))["notes"]
            assert [n["content"] for n in notes] == ["looking into it"]
    done = run(server, config, "incident", "resolve", "--service", service_id, "--yes", "--json")
    assert done.returncode == 0, done.stderr
    assert {o["id"] for o in as_json(done) if o["ok"]} == ids
    assert {i["status"] for i in seed.incidents(server, service_id)} == {"resolved"}


def test_bulk_by_filter_lists_and_asks_first(server: Server, config: Path) -> None:
    service_id, key = seed.service(server)
    for n in range(2):
        seed.trigger(server, key, f"ask-{n}")
    seed.wait_incidents(server, service_id, 2)
    declined = invoke(server, config, "incident", "resolve", "--service", service_id, input="n\n")
    assert declined.exit_code == exits.API_ERROR
    assert "Resolve 2 incidents?" in declined.stderr and "CPU high" in declined.stderr
    assert "Nothing done" in declined.stderr
    assert declined.stdout.strip() in ("", "n")  # (CliRunner echoes the typed answer to stdout)
    assert {i["status"] for i in seed.incidents(server, service_id)} == {"triggered"}
    # A script with nothing on stdin cannot answer: nothing is done either.
    assert run(server, config, "incident", "ack", "--service", service_id).returncode == exits.API_ERROR
    agreed = invoke(server, config, "incident", "resolve", "--service", service_id, input="y\n")
    assert agreed.exit_code == 0, agreed.output
    assert {i["status"] for i in seed.incidents(server, service_id)} == {"resolved"}
    # Already resolved: fine, said so, exit 0.
    again = invoke(server, config, "incident", "resolve", "--service", service_id, "--status", "all", "--yes")
    assert again.exit_code == 0 and again.stdout.count("already resolved") == 2
    nothing = invoke(server, config, "incident", "ack")
    assert nothing.exit_code == exits.USAGE and "which incidents?" in nothing.stderr


def test_list_filters_columns_and_json(server: Server, config: Path) -> None:
    service_id, key = seed.service(server, name=seed.unique("Payments"))
    seed.trigger(server, key, "filters-1", "Queue backlog")
    [incident] = seed.wait_incidents(server, service_id, 1)
    table = invoke(server, config, "incident", "list", "--service", service_id, "--columns", "number,title,status")
    assert table.exit_code == 0
    header, row = [line for line in table.stdout.splitlines() if "│" in line or "┃" in line][:2]
    assert header.split("┃")[0].strip() == "#" and "Title" in header and "Status" in header
    assert str(incident["incident_number"]) in row and "Queue backlog" in row and "triggered" in row
    found = as_json(invoke(server, config, "incident", "list", "--service", service_id, "--me", "--urgency", "high",
                           "--since", "1h ago", "--json"))
    assert [i["id"] for i in found] == [incident["id"]]  # the admin is assigned: --me finds it
    assert as_json(invoke(server, config, "incident", "list", "--service", service_id, "--since", "tomorrow",
                          "--json")) == []
    assert as_json(invoke(server, config, "incident", "list", "--service", service_id, "--urgency", "low",
                          "--json")) == []
    columns = invoke(server, config, "incident", "list", "--columns", "nope")
    assert columns.exit_code == exits.USAGE and "choose from: id, number" in columns.stderr


def test_show_tells_the_story_oldest_first(server: Server, config: Path) -> None:
    service_id, key = seed.service(server)
    seed.trigger(server, key, "story")
    [incident] = seed.wait_incidents(server, service_id, 1)
    assert invoke(server, config, "incident", "ack", incident["id"]).exit_code == 0
    assert invoke(server, config, "incident", "note", incident["id"], "-m", "rebooting db1").exit_code == 0
    shown = invoke(server, config, "incident", "show", incident["id"])
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert f"#{incident['incident_number']} {incident['id']}" in out and "acknowledged" in out
    timeline = out.split("Timeline:", 1)[1]
    # (the API's times are to the second: entries of one second are ordered as well as can be)
    assert timeline.index(" trigger ") < timeline.index(" acknowledge ")
    assert timeline.index(" trigger ") < timeline.index("rebooting db1")
    body = as_json(invoke(server, config, "incident", "show", incident["id"], "--json"))
    stamps = [e["created_at"] for e in body["log_entries"]]
    assert stamps == sorted(stamps) and body["incident"]["id"] == incident["id"]


def test_snooze_reassign_merge_and_ack_leaves_resolved_alone(server: Server, config: Path) -> None:
    service_id, key = seed.service(server)
    for n in range(4):
        seed.trigger(server, key, f"more-{n}")
    first, second, third, fourth = sorted(seed.wait_incidents(server, service_id, 4),
                                          key=lambda i: i["incident_number"])
    assert invoke(server, config, "incident", "ack", first["id"]).exit_code == 0
    snoozed = invoke(server, config, "incident", "snooze", first["id"], "--for", "2h", "--json")
    assert snoozed.exit_code == 0, snoozed.output
    [outcome] = as_json(snoozed)
    assert outcome["ok"] and {p["type"] for p in outcome["incident"]["pending_actions"]} >= {"unacknowledge"}
    bob = seed.user(server, "Bob")
    moved = invoke(server, config, "incident", "reassign", second["id"], "--to", bob["email"])
    assert moved.exit_code == 0, moved.output
    with server.rest() as rest:
        after = seed.ok(rest.get(f"/incidents/{second['id']}"))["incident"]
    assert [a["assignee"]["id"] for a in after["assignments"]] == [bob["id"]]
    merged = run(server, config, "incident", "merge", first["id"], third["id"])
    assert merged.returncode == 0 and "Merged 1 incident into" in merged.stdout
    by_id = {i["id"]: i for i in seed.incidents(server, service_id)}
    assert by_id[third["id"]]["status"] == "resolved" and by_id[first["id"]]["status"] == "acknowledged"
    # ack names a resolved incident: the API would reopen it; the CLI leaves it alone and says so.
    kept = invoke(server, config, "incident", "ack", third["id"], fourth["id"], "--json")
    assert kept.exit_code == 0
    outcomes = {o["id"]: o for o in as_json(kept)}
    assert outcomes[third["id"]]["message"] == "already resolved: left alone"
    assert outcomes[fourth["id"]]["message"] == "acknowledged"
    assert {i["id"]: i["status"] for i in seed.incidents(server, service_id)}[third["id"]] == "resolved"


def test_a_bulk_action_reports_each_refusal_and_does_the_rest(server: Server, config: Path) -> None:
    service_id, key = seed.service(server)
    seed.trigger(server, key, "partial")
    [incident] = seed.wait_incidents(server, service_id, 1)
    result = run(server, config, "incident", "reassign", incident["id"], "PNOSUCHINC1", "--to", "me", "--pipe")
    assert result.returncode == exits.API_ERROR
    assert result.stdout.split() == [incident["id"]]  # what was done, ready for the next command
    assert "PNOSUCHINC1:" in result.stderr and "1 of 2 failed" in result.stderr


def test_a_limited_list_shows_the_newest_oldest_first(server: Server, config: Path) -> None:
    service_id, key = seed.service(server)
    for n in range(4):
        seed.trigger(server, key, f"newest-{n}")
    numbers = sorted(i["incident_number"] for i in seed.wait_incidents(server, service_id, 4))
    shown = as_json(invoke(server, config, "incident", "list", "--service", service_id, "--limit", "2", "--json"))
    assert [i["incident_number"] for i in shown] == numbers[-2:]
    every = as_json(invoke(server, config, "incident", "list", "--service", service_id, "--limit", "0",
                           "--sort", "incident_number:desc", "--json"))
    assert [i["incident_number"] for i in every] == numbers[::-1]
