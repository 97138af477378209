"""An event that cannot be applied is retried, then kept as a dead letter; events that share its
dedup key wait behind it while it is retried instead of being applied out of order."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
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
        await processor.process_batch(harness.tocsin.db)
    left = await inbox()
    # While the trigger is retried, its resolve waits behind it; the unrelated event went through.
    assert [(r.event["event_action"], r.attempts) for r in left] == [("trigger", processor.MAX_ATTEMPTS),
                                                                     ("resolve", 0)]
    assert "cannot apply this event" in (left[0].last_error or "")

    # Once the trigger is a dead letter, the queue moves on: the resolve finds no open alert.
    await processor.process_batch(harness.tocsin.db)
    assert [r.event["event_action"] for r in await inbox()] == ["trigger"]
    listed = (await harness.client.get("/incidents", headers=harness.auth)).json()["incidents"]
    assert [i["incident_key"] for i in listed] == ["healthy"]
