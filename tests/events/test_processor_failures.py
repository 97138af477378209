"""An event that cannot be applied is retried, then kept as a dead letter; events that share its
dedup key wait behind it while it is retried instead of being applied out of order."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.conftest import Harness
from tocsin.events import processor
from tocsin.events.models import InboxEvent


async def test_a_failing_trigger_holds_back_its_resolve_and_becomes_a_dead_letter(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_split = processor._split

    def split_failing_on_poison(session: Session, rows: list[InboxEvent]) -> Any:
        if any(r.event.get("dedup_key") == "poison" and r.event.get("event_action") == "trigger" for r in rows):
            raise RuntimeError("cannot apply this event")
        return real_split(session, rows)

    monkeypatch.setattr(processor, "_split", split_failing_on_poison)
    await harness.send(harness.event(dedup_key="poison"))
    await harness.send(harness.event("resolve", "poison"))
    await harness.send(harness.event(dedup_key="healthy"))
    async def inbox() -> list[InboxEvent]:
        async with harness.tocsin.db.transaction() as session:
            return list((await session.execute(select(InboxEvent).order_by(InboxEvent.seq))).scalars())

    for _ in range(processor.MAX_ATTEMPTS):
        await processor.process_batch(harness.tocsin.db, harness.tocsin.runtime.clock.now)
    left = await inbox()
    # While the trigger is retried, its resolve waits behind it; the unrelated event went through.
    assert [(r.event["event_action"], r.attempts) for r in left] == [("trigger", processor.MAX_ATTEMPTS),
                                                                     ("resolve", 0)]
    assert "cannot apply this event" in (left[0].last_error or "")

    # Once the trigger is a dead letter, the queue moves on: the resolve finds no open alert.
    await processor.process_batch(harness.tocsin.db, harness.tocsin.runtime.clock.now)
    assert [r.event["event_action"] for r in await inbox()] == ["trigger"]
    listed = (await harness.client.get("/incidents", headers=harness.auth)).json()["incidents"]
    assert [i["incident_key"] for i in listed] == ["healthy"]


async def test_a_batch_that_applied_nothing_reports_no_work(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker skips its sleep only after real work: a batch whose events all failed, or that
    hit a transient database error, reports 0 so the worker waits before trying again."""
    for n in range(3):
        await harness.send(harness.event(dedup_key=f"stuck/{n}"))

    def failing(session: Session, rows: list[InboxEvent]) -> Any:
        raise RuntimeError("cannot apply this event")

    monkeypatch.setattr(processor, "_split", failing)
    assert await processor.process_batch(harness.tocsin.db, harness.tocsin.runtime.clock.now) == 0
    async with harness.tocsin.db.transaction() as session:
        attempts = list((await session.execute(select(InboxEvent.attempts))).scalars())
    assert attempts == [1, 1, 1]  # each was tried and marked, none applied

    def transient(session: Session, rows: list[InboxEvent]) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(processor, "_split", transient)
    assert await processor.process_batch(harness.tocsin.db, harness.tocsin.runtime.clock.now) == 0
    async with harness.tocsin.db.transaction() as session:
        attempts = list((await session.execute(select(InboxEvent.attempts))).scalars())
    assert attempts == [1, 1, 1]  # a transient error is not the events' fault

    monkeypatch.undo()
    assert await processor.process_batch(harness.tocsin.db, harness.tocsin.runtime.clock.now) == 3
