"""``tocsin allowlist show|add|remove|clear`` on the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from typer.testing import CliRunner, Result

from tocsin.allowlists import commands
from tocsin.allowlists.guard import REFRESH_SECONDS
from tocsin.allowlists.policy import SURFACES
from tocsin.audit.models import AuditRecord
from tocsin.bootstrap import InitResult
from tocsin.cli import app as cli
from tocsin.db.session import Database


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["allowlist", *args], env={"TOCSIN_DATABASE_URL": db_url})


def audit(db_url: str) -> list[tuple[str, str, str]]:
    async def read() -> list[tuple[str, str, str]]:
        db = Database(db_url)
        try:
            async with db.transaction() as session:
                rows = await session.execute(
                    select(AuditRecord.action, AuditRecord.root_type, AuditRecord.actor_id)
                    .where(AuditRecord.root_type == "ip_allow_list").order_by(AuditRecord.execution_time))
                return [(a, t, i) for a, t, i in rows]
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_show_add_remove_clear(db_url: str, init_result: InitResult) -> None:
    assert "No IP allow list" in run(db_url, "show").output
    added = run(db_url, "add", "10.0.0.0/8", "--description", "office")
    assert added.exit_code == 0, added.output
    list_id = added.output.split("\t", 1)[0]
    assert f"{list_id}\tenabled\trest_api\n  10.0.0.0/8\toffice\n" in added.output
    assert run(db_url, "add", "192.0.2.7").exit_code == 0  # the only list: added there, as a /32
    events = run(db_url, "add", "198.51.100.0/24", "--applies-to", "events_api")  # a second list, for events
    assert events.exit_code == 0 and "\tevents_api\n" in events.output
    shown = run(db_url, "show").output
    assert f"{list_id}\tenabled\trest_api\n  10.0.0.0/8\toffice\n  192.0.2.7/32\n" in shown
    assert "  198.51.100.0/24" in shown

    # with two lists, a range to add needs its surfaces or a list named
    assert run(db_url, "add", "172.16.0.0/12", "--list", list_id).exit_code == 0
    removed = run(db_url, "remove", "10.0.0.0/8")
    assert removed.exit_code == 0 and "10.0.0.0/8" not in removed.output
    # a list left with no range is disabled, not left enabled and empty
    events_id = events.output.split("\t", 1)[0]
    emptied = run(db_url, "remove", "198.51.100.0/24")
    assert f"{events_id}\tdisabled\tevents_api\n" in emptied.output

    cleared = run(db_url, "clear")
    assert cleared.exit_code == 0 and list_id in cleared.output and events_id in cleared.output
    assert "No IP allow list" in run(db_url, "show").output
    trail = audit(db_url)
    assert [a for a, _, _ in trail] == ["create", "update", "create", "update", "update", "update", "delete", "delete"]
    assert {actor for _, _, actor in trail} == {"tocsin-cli"}


def test_bad_input_is_a_clear_error_and_changes_nothing(db_url: str, init_result: InitResult) -> None:
    bad = run(db_url, "add", "10.0.0.1/8")
    assert bad.exit_code == 1
    assert "has host bits set (did you mean 10.0.0.0/8?)" in bad.output
    assert run(db_url, "remove", "10.0.0.0/8").exit_code == 1
    assert "not in any IP allow list" in run(db_url, "remove", "10.0.0.0/8").output
    assert run(db_url, "add", "10.0.0.0/8", "--list", "PNOSUCH").exit_code == 1
    assert run(db_url, "add", "10.0.0.0/8", "--applies-to", "web").exit_code == 1
    assert audit(db_url) == []


def test_the_commands_module_stays_light_but_in_step() -> None:
    # commands.py spells these out so `tocsin` starts without importing the domain
    assert commands.SURFACES == SURFACES
    assert f"within {REFRESH_SECONDS:g} seconds" in commands.APPLIED
