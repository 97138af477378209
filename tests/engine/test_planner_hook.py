"""The before-commit hook itself: nothing read when a transaction changed nothing it plans for,
stored work announced once, and a transaction's records planned once however often the hook runs
(a write's answer plans early, the commit runs it again)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.conftest import Harness
from tests.engine.helpers import T0, create, person, policy, service, start_clock, timers
from tocsin.engine.planner import plan_transaction
from tocsin.incidents.models import Incident
from tocsin.incidents.transition_records import Acknowledge, Act, Annotate
from tocsin.incidents.transition_writer import change


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        seen.append(sql)

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(bind, "before_cursor_execute", record)


async def test_the_hook_plans_each_record_once_and_announces_only_stored_work(harness: Harness) -> None:
    h = harness
    start_clock(h)
    svc = await service(h, await policy(h, [(10, [await person(h, "Ann")])]))
    incident_id = (await create(h, svc))["id"]
    announced: list[Mapping[str, datetime]] = []

    def plan(session: Session) -> list[str]:
        with statements(session) as seen:
            plan_transaction(session, announce=lambda _, due: announced.append(due))
        return seen

    act = Act(T0, {"id": "PADMIN", "type": "user_reference"}, {"type": "api"}, "")
    async with h.tocsin.db.transaction() as session:
        assert await session.run_sync(plan) == []  # no records: nothing read
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        await change(session, incident, Annotate(), act)
        assert await session.run_sync(plan) == [] and announced == []  # a note changes nothing pending
        await change(session, incident, Acknowledge({"id": "PADMIN", "type": "user_reference"}), act)
        assert await session.run_sync(plan) != [] and len(announced) == 1
        assert await session.run_sync(plan) == [] and len(announced) == 1  # planned already
    # The acknowledgement timeout's timer: the clock step's work, announced for when it falls due.
    assert list(announced[0]) == ["clock"] and announced[0]["clock"] > T0
    assert set(await timers(h, incident_id)) == {"unacknowledge"}
