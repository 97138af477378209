"""Automatic disabling: once at least 10 deliveries finished in the trailing 12 hours and 60 % or
more of them failed, the subscription is temporarily disabled, its queue dropped (each delivery
says why) and the account's admins are emailed (a real SMTP server); enable restores delivery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import Harness
from tests.engine.helpers import start_clock
from tests.notifications.servers import SmtpServer, running_smtp
from tests.webhooks.conftest import LOOPBACK
from tests.webhooks.helpers import deliver, deliveries, notices, subscribe, webhook_step
from tests.webhooks.receiver import Receiver, running_receiver
from tocsin.notifications.models import SENT
from tocsin.webhooks.models import DELIVERED, DROPPED, FAILED

T0 = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def settings_overrides(smtp: SmtpServer) -> dict[str, Any]:
    return {"smtp_host": smtp.host, "smtp_port": smtp.port, "email_from": "Tocsin <tocsin@tocsin.test>",
            "webhook_allowed_networks": LOOPBACK}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found


async def ping(h: Harness, sub: dict[str, Any], times: int = 1) -> None:
    for _ in range(times):
        r = await h.client.post(f"/webhook_subscriptions/{sub['id']}/ping", headers=h.writer)
        assert r.status_code == 202, r.text


async def test_sixty_percent_failed_of_ten_disables_and_tells_the_admins(
        harness: Harness, receiver: Receiver, smtp: SmtpServer) -> None:
    h = harness
    clock = start_clock(h, T0)
    webhook_step(h).dispatcher.per_destination = 1  # one at a time: the answers below go in order
    sub = await subscribe(h, receiver.url("/failing"), description="Ops bridge")
    receiver.answer("/failing", *([410] * 6), *([200] * 4))
    await ping(h, sub, 9)
    await deliver(h)
    state = (await h.client.get(f"/webhook_subscriptions/{sub['id']}", headers=h.auth)).json()
    assert state["webhook_subscription"]["delivery_method"]["temporarily_disabled"] is False  # 6 of 9: too few
    await ping(h, sub, 2)  # the 10th finishes (6 of 10 failed: disabled); the 11th is still queued then
    await deliver(h)
    got = (await h.client.get(f"/webhook_subscriptions/{sub['id']}", headers=h.auth)).json()["webhook_subscription"]
    assert got["delivery_method"]["temporarily_disabled"] is True and got["active"] is True
    assert "6 of the 10 deliveries" in got["disabled_reason"]
    statuses = [d.status for d, _ in await deliveries(h, sub["id"])]
    assert sorted(statuses) == sorted([FAILED] * 6 + [DELIVERED] * 4 + [DROPPED])
    [(dropped, _)] = [(d, e) for d, e in await deliveries(h, sub["id"]) if d.status == DROPPED]
    assert dropped.attempts == 0 and "6 of the 10" in (dropped.last_error or "")
    assert len(receiver.at("/failing")) == 10
    # Nothing is queued for it while it is disabled.
    r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
        "type": "incident", "title": "unseen", "service": {"id": h.seed.service_id, "type": "service_reference"}}})
    assert r.status_code == 201
    assert len(await deliveries(h, sub["id"])) == 11
    # The admins are told, by email, through the engine's notify step.
    [notice] = await notices(h)
    assert notice.address == h.seed.admin_email
    await deliver(h)  # a tick: notify sends it
    notice = (await notices(h))[0]
    assert notice.status == SENT, notice.last_error
    mails = [m for m in smtp.inbox.received if "Webhook subscription" in str(m.message["Subject"])]
    assert len(mails) == 1 and mails[0].recipients == [h.seed.admin_email]
    text = mails[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]  # a text part exists
    assert "Ops bridge" in text and "6 of the 10 deliveries" in text and f"{sub['id']}/enable" in text
    # Enable: delivery resumes with a clean slate (the old failures no longer count).
    clock.advance(minutes=5)
    r = await h.client.post(f"/webhook_subscriptions/{sub['id']}/enable", headers=h.writer)
    assert r.json()["webhook_subscription"]["delivery_method"]["temporarily_disabled"] is False
    receiver.answer("/failing", 410)
    await ping(h, sub, 2)
    await deliver(h)
    got = (await h.client.get(f"/webhook_subscriptions/{sub['id']}", headers=h.auth)).json()["webhook_subscription"]
    assert got["delivery_method"]["temporarily_disabled"] is False and got["disabled_reason"] is None
    assert len(receiver.at("/failing")) == 12


async def test_failures_older_than_twelve_hours_do_not_count(harness: Harness, receiver: Receiver) -> None:
    h = harness
    clock = start_clock(h, T0)
    webhook_step(h).dispatcher.per_destination = 1
    sub = await subscribe(h, receiver.url("/old"))
    receiver.answer("/old", *([410] * 6))
    await ping(h, sub, 6)
    await deliver(h)
    clock.advance(hours=12, seconds=1)
    receiver.answer("/old", *([410] * 5), *([200] * 5))  # 11 of 16 failed overall, 5 of 10 in the window
    await ping(h, sub, 10)
    await deliver(h)
    got = (await h.client.get(f"/webhook_subscriptions/{sub['id']}", headers=h.auth)).json()["webhook_subscription"]
    assert got["delivery_method"]["temporarily_disabled"] is False
    assert await notices(h) == []
    receiver.answer("/old", 410)  # 6 of 11 in the window now: 55 %
    await ping(h, sub)
    await deliver(h)
    receiver.answer("/old", 410, 410)  # 8 of 13: 62 %
    await ping(h, sub, 2)
    await deliver(h)
    got = (await h.client.get(f"/webhook_subscriptions/{sub['id']}", headers=h.auth)).json()["webhook_subscription"]
    assert got["delivery_method"]["temporarily_disabled"] is True
