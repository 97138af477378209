"""Assertions shared by the REST tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def assert_error(response: Any, status: int, code: int) -> dict[str, Any]:
    """The answer is PagerDuty's error shape with this status and code; returns the error."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, body
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["errors"], list), body
    return error


def default_policy(harness: Any) -> dict[str, str]:
    """A reference to the "Default" escalation policy ``tocsin init`` made (services need one)."""
    policy_id = harness.seed.escalation_policy_id
    assert policy_id, "tocsin init made no Default escalation policy"
    return {"id": policy_id, "type": "escalation_policy_reference"}


async def create_policy(harness: Any, name: str = "Policy", targets: list[dict[str, str]] | None = None,
                        **fields: Any) -> dict[str, Any]:
    """POST /escalation_policies with one level (default target: the Default policy's first target,
    the admin); returns the created policy."""
    if targets is None:
        default = await harness.client.get(f"/escalation_policies/{harness.seed.escalation_policy_id}",
                                           headers=harness.auth)
        first = default.json()["escalation_policy"]["escalation_rules"][0]["targets"][0]
        targets = [{"id": first["id"], "type": "user_reference"}]
    body = {"name": name, "escalation_rules": [{"escalation_delay_in_minutes": 30, "targets": targets}], **fields}
    r = await harness.client.post("/escalation_policies", headers=harness.writer, json={"escalation_policy": body})
    assert r.status_code == 201, r.text
    return r.json()["escalation_policy"]


async def audit_trail(harness: Any, root_id: str) -> list[tuple[str, str, str]]:
    """(action, root type, actor id) of every audit record filed under ``root_id``, sorted (records
    of one instant have no order of their own)."""
    from sqlalchemy import select

    from tocsin.audit.models import AuditRecord

    async with harness.tocsin.db.transaction() as session:
        rows = await session.execute(
            select(AuditRecord.action, AuditRecord.root_type, AuditRecord.actor_id)
            .where(AuditRecord.root_id == root_id).order_by(AuditRecord.execution_time, AuditRecord.id))
        return sorted((a, t, i) for a, t, i in rows)


@contextlib.contextmanager
def statements_run(db: Any) -> Iterator[list[str]]:
    """Every SQL statement any of the database's engines runs meanwhile (SQLite's writer and
    reader threads have engines of their own)."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engines = db.sync_engines()
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
