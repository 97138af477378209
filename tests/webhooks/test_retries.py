"""The retry schedule, fast-forwarded: a receiver that fails N times then succeeds is tried at
exactly the product brief's times (SPEC-NOTES 4: 1, 3, 5, 10, 10 s; 0, 1, 3, 5, 30 s; 1, 1, 3,
5, 10, 30 min), and after the 17th failed attempt the delivery is given up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tests.engine.helpers import start_clock
from tests.webhooks.helpers import deliver, deliveries, subscribe
from tests.webhooks.receiver import Receiver, running_receiver
from tocsin.webhooks.models import DELIVERED, FAILED, PENDING, DeliveryAttempt

T0 = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
# The brief's waits after each failed attempt, written out here (not taken from the code).
WAITS = [timedelta(seconds=s) for s in (1, 3, 5, 10, 10, 0, 1, 3, 5, 30)] + \
        [timedelta(minutes=m) for m in (1, 1, 3, 5, 10, 30)]
# Ways to fail that are retried: 5xx, 429, a dropped connection.
FAILURES: list[int | str] = [503, 500, 429, "close", 502, 504]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found


def expected_times(attempts: int) -> list[datetime]:
    times, at = [], T0
    for n in range(attempts):
        times.append(at)
        if n < len(WAITS):
            at += WAITS[n]
    return times


@pytest.mark.parametrize("failures", [0, 1, 4, 5, 6, 10, 11, 16, 17])
async def test_a_receiver_failing_n_times_is_tried_on_the_schedule(harness: Harness, receiver: Receiver,
                                                                   failures: int) -> None:
    h = harness
    clock = start_clock(h, T0)
    sub = await subscribe(h, receiver.url("/n"))
    receiver.answer("/n", *[FAILURES[i % len(FAILURES)] for i in range(failures)])
    assert (await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer)).status_code == 202
    [(row, _)] = await deliveries(h, sub["id"])
    for _ in range(40):
        await deliver(h)
        [(row, _)] = await deliveries(h, sub["id"])
        if row.status != PENDING:
            break
        assert row.due_at > clock.now(), "a due retry was left unsent"
        clock.advance(seconds=(row.due_at - clock.now()).total_seconds())
    async with h.tocsin.db.transaction() as session:
        attempts = list(await session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_seq == row.seq)
                                              .order_by(DeliveryAttempt.attempted_at, DeliveryAttempt.id)))
    made = min(failures + 1, 17)
    assert [a.attempted_at for a in attempts] == expected_times(made)
    assert len(receiver.at("/n")) == made
    assert len({r.headers["x-webhook-id"] for r in receiver.at("/n")}) == 1
    if failures < 17:
        assert row.status == DELIVERED and row.attempts == failures + 1
        assert [a.outcome for a in attempts] == ["retry"] * failures + ["delivered"]
    else:
        assert row.status == FAILED and row.attempts == 17
        assert "gave up after 17 attempts" in (row.last_error or "")
        assert [a.outcome for a in attempts] == ["retry"] * 16 + ["failed"]
        assert row.finished_at == expected_times(17)[-1]
