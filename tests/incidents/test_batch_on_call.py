"""Who is on call, as the synchronous event processor asks it: the async query code run over the
processor's own session (``tocsin.db.bridge``), on both databases, at a cost in statements that
does not grow with the number of escalation policies a batch opens incidents on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests.conftest import Harness
from tests.incidents.helpers import new_user
from tocsin.db.bridge import QuerySuspended, run_now
from tocsin.escalation.queries import first_level_on_call_sync, on_call_user_ids
from tocsin.events import processor
from tocsin.incidents.ingest import AlertEventIn, prepare
from tocsin.services.models import Integration
from tocsin.services.queries import integration_targets

T0 = datetime(2030, 6, 1, 9, 0, tzinfo=UTC)  # Bob's day in the rotation below


async def _schedule(h: Harness, users: list[str]) -> str:
    layer = {"start": "2030-05-02T00:00:00Z", "rotation_virtual_start": "2030-05-02T00:00:00Z",
             "rotation_turn_length_seconds": 86_400,
             "users": [{"user": {"id": u, "type": "user_reference"}} for u in users]}
    r = await h.client.post("/schedules", headers=h.writer, json={"schedule": {
        "name": f"Rotation {users}", "time_zone": "Etc/UTC", "schedule_layers": [layer]}})
    assert r.status_code == 201, r.text
    return str(r.json()["schedule"]["id"])


async def _policies(h: Harness, count: int) -> tuple[list[str], dict[str, list[str]]]:
    """``count`` policies, each paging at level 1 a user of its own and a schedule of its own
    (Bob's turn at T0); level 2 pages Dave. Returns the policies and who level 1 pages at T0."""
    bob, carol, dave = [await new_user(h, n) for n in ("Bob", "Carol", "Dave")]
    policies, expected = [], {}
    for n in range(count):
        own = await new_user(h, f"Own{n}")
        schedule = await _schedule(h, [bob, carol])
        r = await h.client.post("/escalation_policies", headers=h.writer, json={"escalation_policy": {
            "type": "escalation_policy", "name": f"Policy {n}", "escalation_rules": [
                {"escalation_delay_in_minutes": 5, "targets": [{"id": own, "type": "user_reference"},
                                                               {"id": schedule, "type": "schedule_reference"}]},
                {"escalation_delay_in_minutes": 5, "targets": [{"id": dave, "type": "user_reference"}]}]}})
        assert r.status_code == 201, r.text
        policy = str(r.json()["escalation_policy"]["id"])
        policies.append(policy)
        expected[policy] = [own, bob]
    return policies, expected


async def test_first_level_on_call_runs_over_the_processors_session(harness: Harness) -> None:
    policies, expected = await _policies(harness, 2)
    # The processor's kind of session: SQLite's background writer thread; PostgreSQL's run_sync.
    found = await processor._in_transaction(
        harness.tocsin.db, lambda session: first_level_on_call_sync(session, policies, T0))
    assert found == expected
    async with harness.tocsin.db.transaction() as session:  # the same answer as the async REST side
        assert {p: await on_call_user_ids(session, p, 1, T0) for p in policies} == expected


def test_a_query_that_suspends_fails_loudly_naming_it() -> None:
    async def user_names_over_the_network() -> list[str]:
        await asyncio.sleep(0)  # real asynchronous work: it cannot finish in one synchronous step
        return []

    with pytest.raises(QuerySuspended, match=r"user_names_over_the_network.*suspended while run over a synchronous"):
        run_now(user_names_over_the_network())


async def _statements_to_prepare(h: Harness, policies: list[str]) -> int:
    """How many SQL statements ``ingest.prepare`` issues for a batch opening one incident on each
    of ``policies`` (in the processor's session)."""
    async with h.tocsin.db.transaction() as session:
        integration_id = (await session.execute(
            select(Integration.id).where(Integration.integration_key == h.routing_key))).scalar_one()

    def work(session: Session) -> int:
        integration_type, service = integration_targets(session, {integration_id})[integration_id]
        events = [AlertEventIn(integration_id, integration_type, {**service, "escalation_policy_id": policy},
                               "trigger", f"count/{policy}", T0, summary="CPU high")
                  for policy in policies]
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            prepared = prepare(session, events, T0)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert {level.users for level in prepared.writer.on_call.values()} and len(prepared.writer.on_call) == len(
            policies)
        return statements

    found = await processor._in_transaction(h.tocsin.db, work)
    assert found is not None
    return found


async def test_a_batch_costs_the_same_statements_whatever_its_number_of_policies(harness: Harness) -> None:
    policies, _ = await _policies(harness, 6)
    one, six = await _statements_to_prepare(harness, policies[:1]), await _statements_to_prepare(harness, policies)
    assert one == six, (one, six)
    assert six <= 8  # open alerts; level-1 targets; schedules, layers, overrides; live users; names
