"""The notify step end to end on SQLite and PostgreSQL: notification rows (inserted as the planner
would), a frozen clock, a real SMTP server and a local Twilio double; outcomes on the rows, in the
incident's log and in the send counter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from tests.conftest import Harness
from tests.incidents.helpers import admin_id, create, get, new_user, put
from tests.notifications.servers import (
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    SmtpServer,
    TwilioDouble,
    free_port,
    running_smtp,
    running_twilio,
)
from tocsin.clock import FrozenClock
from tocsin.config import Settings
from tocsin.engine.notify import HORIZON_STALE_SECONDS, NotifyStep
from tocsin.engine.notify_facts import DueSend, Receipt, message_key, paged_alone
from tocsin.engine.notify_send import Outcome
from tocsin.engine.planner import CANCELLED_REASON
from tocsin.engine.receipts import RECEIPTS, receipt_row, settle, settled_receipts
from tocsin.ids import new_id
from tocsin.incidents.models import Incident, LogEntry
from tocsin.incidents.transition_records import Notified
from tocsin.incidents.transition_writer import recorded
from tocsin.notifications.channels import Channels
from tocsin.notifications.email import EmailChannel
from tocsin.notifications.links import ACKNOWLEDGE, ACTION_PATH, RESOLVE, VOICE, verify
from tocsin.notifications.models import (
    CANCELLED,
    FAILED,
    HANDOFF,
    INCIDENT,
    PENDING,
    SENT,
    SUPPRESSED,
    TEST,
    MessageReceipt,
    Notification,
)
from tocsin.notifications.queries import link_secret


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def twilio() -> Iterator[TwilioDouble]:
    with running_twilio() as double:
        yield double


@pytest.fixture
def settings_overrides(smtp: SmtpServer, twilio: TwilioDouble) -> dict[str, Any]:
    return {"smtp_host": smtp.host, "smtp_port": smtp.port, "email_from": "Tocsin <tocsin@tocsin.test>",
            "twilio_api_url": twilio.url, "twilio_account_sid": TWILIO_SID, "twilio_auth_token": TWILIO_TOKEN,
            "twilio_from": TWILIO_FROM}


@dataclass
class World:
    h: Harness
    clock: FrozenClock
    incident: dict[str, Any]
    user_id: str
    sends: list[tuple[str, str]] = field(default_factory=list)
    made: list[Channels] = field(default_factory=list)  # closed at the end of the test
    step: NotifyStep = field(init=False)  # made from the harness's settings once the world exists

    @property
    def start(self) -> datetime:
        return datetime.fromisoformat(self.incident["created_at"])

    async def add(self, channel: str = "email", address: str = "admin@tocsin.test", *, delay: timedelta = timedelta(0),
                  kind: str = INCIDENT, user_id: str | None = None, detail: dict[str, Any] | None = None,
                  incident_id: str | None = None) -> str:
        """A pending notification as the planner writes it, due ``delay`` after the clock's start
        (for the world's incident, or ``incident_id``)."""
        nid, due = new_id(), self.start + delay
        user, incident = user_id or self.user_id, incident_id or self.incident["id"]
        async with self.h.tocsin.db.transaction() as session:
            session.add(Notification(
                id=nid, key=f"inc:{incident}:{user}:{nid}:{due.isoformat()}", kind=kind,
                incident_id=incident if kind == INCIDENT else None, user_id=user, channel=channel,
                address=address, urgency="high", detail=detail, status=PENDING, due_at=due, created_at=self.start,
                updated_at=self.start))
        return nid

    async def row(self, nid: str) -> Notification:
        async with self.h.tocsin.db.transaction() as session:
            found = await session.get(Notification, nid)
            assert found is not None
            return found

    async def notify_log(self) -> list[dict[str, Any]]:
        entries = (await get(self.h, f"/incidents/{self.incident['id']}/log_entries"))["log_entries"]
        return [e for e in entries if e["type"] == "notify_log_entry"]

    async def secret(self) -> bytes:
        async with self.h.tocsin.db.transaction() as session:
            return await session.run_sync(lambda s: link_secret(s, self.clock.now()))

    def with_channels(self, settings: Settings, **options: Any) -> NotifyStep:
        channels = Channels.from_settings(settings, self.clock.now)
        self.made.append(channels)
        return NotifyStep(self.h.tocsin.db, self.clock.now, channels, self._record, self.h.tocsin.settings.base_url,
                          random=lambda: 0.5, **options)

    def _record(self, channel: str, outcome: str, rows: int) -> None:
        self.sends.extend([(channel, outcome)] * rows)


async def _clear_rules(h: Harness, user: str) -> None:
    """These tests place each send themselves: a user's default rule (email at once) would add one."""
    r = await h.client.get(f"/users/{user}/notification_rules", headers=h.auth)
    for rule in r.json()["notification_rules"]:
        gone = await h.client.delete(f"/users/{user}/notification_rules/{rule['id']}", headers=h.writer)
        assert gone.status_code == 204, gone.text


@pytest.fixture
async def world(harness: Harness) -> AsyncIterator[World]:
    user = await admin_id(harness)
    await _clear_rules(harness, user)
    incident = await create(harness, title="Disk full on db-1")
    assert [a["assignee"]["id"] for a in incident["assignments"]] == [user]
    clock = FrozenClock(datetime.fromisoformat(incident["created_at"]))
    w = World(harness, clock, incident, user)
    w.step = w.with_channels(harness.tocsin.settings)
    yield w
    for channels in w.made:
        await channels.aclose()


async def test_an_email_is_sent_when_due_and_logged(world: World, smtp: SmtpServer) -> None:
    nid = await world.add(delay=timedelta(minutes=1))
    early = await world.step.run(world.clock.now())
    assert (early.done, early.more, early.next_due) == (0, False, world.start + timedelta(minutes=1))
    assert smtp.inbox.received == []

    world.clock.advance(minutes=1)
    result = await world.step.run(world.clock.now())
    assert (result.done, result.more, result.next_due, result.skipped_locked) == (1, False, None, False)
    [got] = smtp.inbox.received
    mail = got.message
    assert got.recipients == ["admin@tocsin.test"]
    number = world.incident["incident_number"]
    assert mail["Subject"] == f"[Tocsin] Incident #{number} (high urgency): Disk full on db-1"
    assert mail["Message-ID"] == f"<{nid}@tocsin.test>"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]  # the message has both parts (asserted by the mail test)
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]  # the message has both parts (asserted by the mail test)
    assert f"http://tocsin.test/ui/incidents/{world.incident['id']}" in text and "Disk full on db-1" in html

    # The acknowledge and resolve links are genuine: signed for this incident, this user, that action.
    secret = await world.secret()
    for action in (ACKNOWLEDGE, RESOLVE):
        line = next(line for line in text.splitlines() if line.startswith(f"{action.capitalize()}: "))
        url = line.split(": ", 1)[1]
        assert urlsplit(url).path.startswith(ACTION_PATH + "/") and url in html
        claim = verify(secret, url.rsplit("/", 1)[1], world.clock.now())
        assert claim is not None
        assert (claim.incident_id, claim.user_id, claim.action) == (world.incident["id"], world.user_id, action)

    row = await world.row(nid)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (SENT, 1, world.clock.now(), None)
    assert row.provider_response is not None and row.provider_response["code"] == 250
    [entry] = await world.notify_log()
    assert entry["channel"]["notification"] == {"type": "email_notification", "status": "success",
                                                "address": "admin@tocsin.test"}
    assert entry["agent"]["id"] == world.user_id
    assert datetime.fromisoformat(entry["created_at"]) == world.clock.now().replace(microsecond=0)
    assert entry["summary"].endswith("by EMAIL (admin@tocsin.test): success.")
    assert world.sends == [("email", "sent")]

    again = await world.step.run(world.clock.now())  # nothing is sent twice
    assert again.done == 0 and len(smtp.inbox.received) == 1


async def test_an_event_made_incident_shows_its_first_alerts_details(world: World, smtp: SmtpServer) -> None:
    h = world.h
    for summary in ("Disk /var at 97%", "Disk /var at 99%"):  # the second alert joins the same incident
        r = await h.send(h.event("trigger", "disk-var", summary=summary, custom_details={"mount": "/var", "used": 97}))
        assert r.status_code == 202, r.text
        await h.process()
    [incident] = (await get(h, "/incidents", incident_key="disk-var", date_range="all"))["incidents"]
    world.incident = incident
    world.clock.advance(seconds=(world.start - world.clock.now()).total_seconds())
    await world.add()
    assert (await world.step.run(world.clock.now())).done == 1
    [got] = smtp.inbox.received
    text = got.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]  # a text part is always sent
    assert "Disk /var at 97%" in got.message["Subject"]
    assert "Source: web-1" in text and "Severity: critical" in text
    assert "mount: /var" in text and "used: 97" in text and "99%" not in text


async def test_a_4xx_is_retried_after_the_backoff_then_sent(world: World, smtp: SmtpServer) -> None:
    smtp.inbox.replies.append("451 4.3.0 Try again later")
    nid = await world.add()
    first = await world.step.run(world.clock.now())
    row = await world.row(nid)
    assert (row.status, row.attempts) == (PENDING, 1)
    assert row.due_at == world.start + timedelta(seconds=30)  # the first wait, jitter drawn at its middle
    assert row.last_error is not None and "451" in row.last_error
    assert first.next_due == row.due_at and world.sends == [("email", "retry")]
    assert await world.notify_log() == []  # only a final outcome is logged

    world.clock.advance(seconds=29)
    assert (await world.step.run(world.clock.now())).done == 0
    world.clock.advance(seconds=1)
    assert (await world.step.run(world.clock.now())).done == 1
    row = await world.row(nid)
    assert (row.status, row.attempts, row.last_error) == (SENT, 2, None)
    assert len(smtp.inbox.received) == 1
    assert [e["channel"]["notification"]["status"] for e in await world.notify_log()] == ["success"]
    assert world.sends == [("email", "retry"), ("email", "sent")]


async def test_a_5xx_fails_at_once_and_is_logged_as_failed(world: World, smtp: SmtpServer) -> None:
    smtp.inbox.replies.append("550 5.1.1 Mailbox unavailable")
    nid = await world.add()
    await world.step.run(world.clock.now())
    row = await world.row(nid)
    assert (row.status, row.attempts) == (FAILED, 1)
    assert row.last_error is not None and "550" in row.last_error
    assert row.provider_response == {"code": 550, "message": "5.1.1 Mailbox unavailable"}
    [entry] = await world.notify_log()
    assert entry["channel"]["notification"]["status"] == "failed"
    assert world.sends == [("email", "failed")]


async def test_a_server_that_stays_down_is_tried_six_times_then_failed(world: World) -> None:
    down = world.with_channels(world.h.tocsin.settings.model_copy(update={"smtp_port": free_port()}))
    nid = await world.add()
    waits = []
    for _ in range(5):
        before = world.clock.now()
        result = await down.run(before)
        row = await world.row(nid)
        assert row.status == PENDING and result.next_due == row.due_at
        waits.append(row.due_at - before)
        world.clock.advance(seconds=(row.due_at - before).total_seconds())
    await down.run(world.clock.now())
    row = await world.row(nid)
    assert waits == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5),
                     timedelta(minutes=10)]
    assert (row.status, row.attempts) == (FAILED, 6)
    assert row.last_error is not None and row.last_error.startswith("gave up after 6 attempts")
    assert [e["channel"]["notification"]["status"] for e in await world.notify_log()] == ["failed"]
    assert world.sends == [("email", "retry")] * 5 + [("email", "failed")]


async def test_sms_and_a_call_go_through_twilio(world: World, twilio: TwilioDouble) -> None:
    twilio.failures.append((500, {"code": 20500, "message": "Internal Server Error", "status": 500}))
    sms = await world.add("sms", "+15551230001")
    call = await world.add("phone", "+15551230002", delay=timedelta(seconds=1))
    world.clock.advance(seconds=1)
    result = await world.step.run(world.clock.now())
    assert result.done == 2
    # the batch is sent concurrently: which request met the 500 is not fixed; one of the two did
    rows = {nid: await world.row(nid) for nid in (sms, call)}
    assert sorted(r.status for r in rows.values()) == [PENDING, SENT]
    world.clock.advance(seconds=30)
    await world.step.run(world.clock.now())
    rows = {nid: await world.row(nid) for nid in (sms, call)}
    assert {r.status for r in rows.values()} == {SENT}
    assert (rows[sms].provider_response or {})["sid"].startswith("SM")
    assert (rows[call].provider_response or {})["sid"].startswith("CA")

    accepted = [r for r in twilio.requests if r.form.get("To") in ("+15551230001", "+15551230002")]
    [text] = [r for r in accepted if r.path.endswith("Messages.json")][-1:]
    assert text.form["Body"] == (f"[Tocsin] #{world.incident['incident_number']} high: Disk full on db-1 "
                                 "- Reply 4 ack, 6 resolve")
    [voice] = [r for r in accepted if r.path.endswith("Calls.json")][-1:]
    assert "<Gather numDigits=\"1\"" in voice.form["Twiml"] and "Press 4 to acknowledge" in voice.form["Twiml"]
    action = voice.form["Twiml"].split('action="', 1)[1].split('"', 1)[0]
    claim = verify(await world.secret(), action.rsplit("/", 1)[1], world.clock.now())
    assert claim is not None and (claim.incident_id, claim.action) == (world.incident["id"], VOICE)
    kinds = sorted((e["channel"]["notification"]["type"], e["channel"]["notification"]["status"])
                   for e in await world.notify_log())
    assert kinds == [("phone_notification", "success"), ("sms_notification", "success")]


async def test_unconfigured_channels_fail_with_the_reason_and_do_not_hold_up_the_others(
        world: World, smtp: SmtpServer) -> None:
    bare = world.with_channels(world.h.tocsin.settings.model_copy(update={"twilio_account_sid": ""}))
    sms = await world.add("sms", "+15551230001")
    push = await world.add("push", "device-token")
    mail = await world.add("email")
    result = await bare.run(world.clock.now())
    assert result.done == 3
    sms_row, push_row, mail_row = [await world.row(n) for n in (sms, push, mail)]
    assert sms_row.status == FAILED and "TOCSIN_TWILIO_ACCOUNT_SID" in (sms_row.last_error or "")
    assert push_row.status == FAILED and push_row.last_error == "push notifications need the mobile app"
    assert mail_row.status == SENT and len(smtp.inbox.received) == 1
    statuses = sorted((e["channel"]["notification"]["type"], e["channel"]["notification"]["status"])
                      for e in await world.notify_log())
    assert statuses == [("email_notification", "success"), ("push_notification", "failed"),
                        ("sms_notification", "failed")]
    assert sorted(world.sends) == [("email", "sent"), ("push", "failed"), ("sms", "failed")]


async def test_a_page_no_longer_wanted_is_cancelled_not_sent(world: World, smtp: SmtpServer) -> None:
    other = await new_user(world.h, "Bystander")
    stale = await world.add(user_id=other, address="bystander@example.com")  # not assigned to the incident
    later = await world.add(delay=timedelta(minutes=5))
    first = await world.step.run(world.clock.now())
    assert first.done == 1
    assert (await world.row(stale)).status == CANCELLED
    assert "no longer assigned" in ((await world.row(stale)).last_error or "")

    r = await put(world.h, world.incident["id"], status="acknowledged")
    assert r.status_code == 200, r.text
    world.clock.advance(minutes=5)
    await world.step.run(world.clock.now())
    row = await world.row(later)
    assert (row.status, row.attempts) == (CANCELLED, 0)
    # the acknowledgement's own transaction cancelled it (the planner), before the step saw it
    assert row.last_error == CANCELLED_REASON
    assert smtp.inbox.received == [] and await world.notify_log() == []
    assert world.sends == [("email", "cancelled")]


async def test_a_service_in_maintenance_pages_nobody(world: World, smtp: SmtpServer) -> None:
    start = world.clock.now()
    r = await world.h.client.post("/maintenance_windows", headers=world.h.writer, json={"maintenance_window": {
        "type": "maintenance_window", "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
        "services": [{"id": world.incident["service"]["id"], "type": "service_reference"}]}})
    assert r.status_code == 201, r.text
    nid = await world.add(delay=timedelta(minutes=1))
    world.clock.advance(minutes=1)
    await world.step.run(world.clock.now())
    row = await world.row(nid)
    assert row.status == SUPPRESSED and r.json()["maintenance_window"]["id"] in (row.last_error or "")
    assert smtp.inbox.received == [] and world.sends == [("email", "suppressed")]


async def test_handoff_and_test_messages(world: World, smtp: SmtpServer) -> None:
    await world.add(kind=HANDOFF, detail={"event": "start", "at": world.start.isoformat(), "policy": "Default",
                                          "time_zone": "UTC"})
    await world.add(kind=TEST, detail={"label": "Work email"}, delay=timedelta(seconds=1))
    await world.add(kind=HANDOFF, detail={"policy": "no time"}, delay=timedelta(seconds=2))  # unreadable
    world.clock.advance(seconds=2)
    result = await world.step.run(world.clock.now())
    assert result.done == 3
    subjects = sorted(r.message["Subject"] for r in smtp.inbox.received)
    assert subjects == ["[Test message] Tocsin contact method test (Work email)",
                        "[Tocsin] Your on-call shift starts: Default"]
    assert sorted(world.sends) == [("email", "failed"), ("email", "sent"), ("email", "sent")]
    assert await world.notify_log() == []  # not about an incident


async def test_a_full_batch_asks_to_run_again(world: World, smtp: SmtpServer) -> None:
    small = world.with_channels(world.h.tocsin.settings, batch_size=2)
    for i in range(3):
        await world.add(delay=timedelta(seconds=i))
    world.clock.advance(seconds=2)
    first = await small.run(world.clock.now())
    second = await small.run(world.clock.now())
    assert (first.done, first.more, second.done, second.more) == (2, True, 1, False)
    # The first run's two sends to one address for one incident went as one message.
    assert len(smtp.inbox.received) == 2


async def test_running_apart_the_step_tells_how_far_its_pages_have_gone_out(
        world: World, smtp: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    """``horizon``: in line (SQLite) none (the tick sends first); apart (PostgreSQL) nothing before
    the first run, then the due time of the first page a run left, or the next page to fall due."""
    small = world.with_channels(world.h.tocsin.settings, batch_size=2)
    if world.h.tocsin.db.is_sqlite:
        assert not small.runs_apart and small.horizon() is None
        return
    start = world.clock.now()
    assert small.runs_apart and small.horizon() == datetime.min.replace(tzinfo=UTC)
    for i in range(3):
        await world.add(delay=timedelta(seconds=i))
    later = await world.add(delay=timedelta(minutes=10))
    world.clock.advance(seconds=2)
    assert (await small.run(world.clock.now())).more
    assert small.horizon() == start + timedelta(seconds=1)  # the batch's last page: the third is due after it
    await small.run(world.clock.now())
    assert small.horizon() == start + timedelta(minutes=10)  # caught up: the next page is not due yet
    assert (await world.row(later)).status == PENDING
    # A step that has not finished a run for a while holds no escalation back (said once).
    small._caught_up_checked -= HORIZON_STALE_SECONDS + 1
    with caplog.at_level(logging.WARNING, logger="tocsin.engine.notify"):
        assert small.horizon() is None and small.horizon() is None
    assert sum("has not finished a run" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.postgres
async def test_rows_another_engine_holds_are_passed_over(world: World, smtp: SmtpServer) -> None:
    if world.h.tocsin.db.is_sqlite:
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    held = await world.add()
    free = await world.add(delay=timedelta(seconds=1))
    world.clock.advance(seconds=1)
    async with world.h.tocsin.db.transaction() as other:  # another engine mid-send on the first row
        await other.execute(select(Notification).where(Notification.id == held).with_for_update())
        result = await world.step.run(world.clock.now())
        assert (result.done, result.skipped_locked) == (1, True)
        assert (await world.row(free)).status == SENT
        assert (await world.row(held)).status == PENDING
    result = await world.step.run(world.clock.now())  # its locks gone (committed or died): sent now
    assert (result.done, result.skipped_locked) == (1, False)
    assert (await world.row(held)).status == SENT and len(smtp.inbox.received) == 2


@pytest.mark.postgres
async def test_an_incident_a_change_holds_is_left_for_later_without_waiting(world: World, smtp: SmtpServer) -> None:
    if world.h.tocsin.db.is_sqlite:
        pytest.skip("row locks are PostgreSQL's")
    nid = await world.add()
    async with world.h.tocsin.db.transaction() as change:  # a REST change mid-way: the incident locked
        await change.execute(select(Incident).where(Incident.id == world.incident["id"]).with_for_update())
        # Waiting for that lock while holding the notification would deadlock with the change's
        # cancelling of it; the step must pass over it instead, at once.
        result = await asyncio.wait_for(world.step.run(world.clock.now()), timeout=5)
        assert (result.done, result.more, result.skipped_locked) == (0, False, True)
        assert (await world.row(nid)).status == PENDING and smtp.inbox.received == []
    result = await world.step.run(world.clock.now())
    assert result.done == 1 and (await world.row(nid)).status == SENT


async def test_sending_changes_nothing_on_the_incident_itself(world: World, smtp: SmtpServer) -> None:
    async def stamp() -> datetime:
        async with world.h.tocsin.db.transaction() as session:
            incident = await session.get(Incident, world.incident["id"])
            assert incident is not None
            return incident.updated_at

    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    before = await stamp()
    await world.add()
    world.clock.advance(minutes=3)
    engines = world.h.tocsin.db.sync_engines()  # SQLite writes in its writer thread's own engine
    for engine in engines:
        event.listen(engine, "before_cursor_execute", seen)
    try:
        assert (await world.step.run(world.clock.now())).done == 1
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", seen)
    # only a log entry: no incident row update to wait or conflict on
    assert await stamp() == before
    assert any(s.startswith("INSERT INTO log_entries") for s in statements)
    assert not [s for s in statements if s.startswith("UPDATE incidents")]


async def test_sqlite_a_row_cancelled_during_a_failed_send_stays_cancelled(world: World, smtp: SmtpServer) -> None:
    if not world.h.tocsin.db.is_sqlite:
        pytest.skip("on PostgreSQL the row is locked while it is sent")
    nid = await world.add()
    sync_url = world.h.db_url

    def cancel() -> None:  # the planner cancelling it (incident acknowledged) while the SMTP server thinks
        from sqlalchemy import create_engine, update

        engine = create_engine(sync_url)
        with Session(engine) as session, session.begin():
            session.execute(update(Notification).where(Notification.id == nid).values(status=CANCELLED))
        engine.dispose()

    original = smtp.inbox.handle_DATA

    async def slow_then_refuse(server: Any, session: Any, envelope: Any) -> str:
        await asyncio.to_thread(cancel)
        smtp.inbox.replies.append("451 4.3.0 Try later")
        return await original(server, session, envelope)

    smtp.inbox.handle_DATA = slow_then_refuse  # type: ignore[method-assign]  # swap the handler to script a failure
    await world.step.run(world.clock.now())
    row = await world.row(nid)
    assert row.status == CANCELLED  # not brought back to life for a retry


# --- outcomes recorded set-based ---------------------------------------------------------------

async def _assign(h: Harness, incident_id: str, *users: str) -> None:
    r = await put(h, incident_id, assignments=[{"assignee": {"id": u, "type": "user_reference"}} for u in users])
    assert r.status_code == 200, r.text


async def test_a_batch_of_several_incidents_logs_every_outcome_with_its_user_in_order(
        world: World, smtp: SmtpServer) -> None:
    h, admin = world.h, world.user_id
    ops = await new_user(h, "Opsperson")
    await _clear_rules(h, ops)
    first, second, third = world.incident["id"], (await create(h, title="Two"))["id"], (await create(h))["id"]
    await _assign(h, first, admin, ops)
    await _assign(h, third, ops)
    smtp.inbox.refused_recipients["gone@example.com"] = "550 5.1.1 No such user"  # a failure among them
    plan = [(first, admin, "admin@tocsin.test"), (first, ops, "ops@example.com"), (second, admin, "a2@example.com"),
            (first, admin, "gone@example.com"), (third, ops, "ops@example.com")]
    ids = []
    for n, (incident_id, user, address) in enumerate(plan):
        world.incident = {**world.incident, "id": incident_id}
        ids.append(await world.add(address=address, user_id=user, delay=timedelta(seconds=n)))
    world.clock.advance(seconds=len(plan))
    seen: list[Any] = []
    statuses: list[str] = []

    def before_commit(session: Session) -> None:  # what the planner and the webhooks will read
        seen.extend(recorded(session))
        row = session.get(Notification, ids[0])
        statuses.append(row.status if row is not None else "gone")

    h.tocsin.db.before_commit.append(before_commit)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engines = h.tocsin.db.sync_engines()
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        result = await world.step.run(world.clock.now())
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
        h.tocsin.db.before_commit.pop()
    assert result.done == len(plan)
    assert statuses[-1] == SENT  # the claimed row read in the same transaction shows its outcome
    assert [(await world.row(n)).status for n in ids] == [SENT, SENT, SENT, FAILED, SENT]
    assert sorted(world.sends) == sorted([("email", "sent")] * 4 + [("email", "failed")])
    updates = len([s for s in statements if s.startswith("UPDATE notifications")])
    inserts = len([s for s in statements if s.startswith("INSERT INTO log_entries")])
    if h.tocsin.db.is_sqlite:
        # Each accepted message recorded as it came back (three: one a bundle, one UPDATE for all
        # its rows), then the failed one: an UPDATE and an INSERT of log entries each.
        assert (updates, inserts) == (4, 4)
        assert not [s for s in statements if s.startswith(("INSERT INTO message_receipts",
                                                            "DELETE FROM message_receipts"))]  # none needed
    else:
        # One UPDATE per kind of outcome (sent, sent in a bundle, failed), one INSERT of every log entry.
        assert (updates, inserts) == (3, 1)
    assert not [s for s in statements if s.startswith("UPDATE incidents")]
    notified = [(r.incident_id, r.user_id, r.address, r.status) for r in seen if isinstance(r, Notified)]
    expected = [(i, u, a, "failed" if a == "gone@example.com" else "success") for i, u, a in plan]
    # SQLite records each accepted message as it comes back: in the order the sends finished.
    in_order = not h.tocsin.db.is_sqlite
    assert (notified if in_order else sorted(notified)) == (expected if in_order else sorted(expected))

    async with h.tocsin.db.transaction() as session:
        rows = list(await session.scalars(select(LogEntry).where(LogEntry.type == "notify_log_entry")
                                          .order_by(LogEntry.created_at)))
    by_incident: dict[str, list[str]] = {}
    for row in rows:
        by_incident.setdefault(row.incident_id, []).append(row.summary)
    expected_log = {
        first: ["Notified Administrator by EMAIL (admin@tocsin.test): success.",
                "Notified Opsperson by EMAIL (ops@example.com): success.",
                "Notified Administrator by EMAIL (gone@example.com): failed."],
        second: ["Notified Administrator by EMAIL (a2@example.com): success."],
        third: ["Notified Opsperson by EMAIL (ops@example.com): success."],
    }
    if in_order:  # one transaction: its entries of one incident a microsecond apart, in order
        assert by_incident == expected_log
        stamps = [r.created_at for r in rows if r.incident_id == first]
        assert stamps[1] - stamps[0] == stamps[2] - stamps[1] == timedelta(microseconds=1)
    else:
        assert {k: sorted(v) for k, v in by_incident.items()} == {k: sorted(v) for k, v in expected_log.items()}
    # Opsperson's two pages to one address went as one bundled message naming both incidents.
    assert sorted(r.recipients[0] for r in smtp.inbox.received) == [
        "a2@example.com", "admin@tocsin.test", "ops@example.com"]
    bundle = next(r.message for r in smtp.inbox.received if r.recipients == ["ops@example.com"])
    assert bundle["Subject"].startswith("[Tocsin] You have 2 triggered incidents")
    plain = bundle.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    assert f"/incidents/{first}" in text and f"/incidents/{third}" in text
    assert (await world.row(ids[1])).detail == (await world.row(ids[4])).detail == {"bundle": ids[1]}

    # "Acknowledge all 2" in the mail acts, as Opsperson, on both of the bundle's incidents.
    line = next(line for line in text.splitlines() if line.startswith("Acknowledge all 2: "))
    path = urlsplit(line.split(": ", 1)[1]).path
    shown = await h.client.get(path)  # a look changes nothing
    assert shown.status_code == 200 and "Acknowledge 2 incidents?" in shown.text and "Two" not in shown.text
    assert (await get(h, f"/incidents/{first}"))["incident"]["status"] == "triggered"
    done = await h.client.post(path)
    assert done.status_code == 200 and "2 incidents acknowledged" in done.text and "as Opsperson" in done.text
    for incident_id in (first, third):
        assert (await get(h, f"/incidents/{incident_id}"))["incident"]["status"] == "acknowledged"
        entries = (await get(h, f"/incidents/{incident_id}/log_entries"))["log_entries"]
        [ack] = [e for e in entries if e["type"] == "acknowledge_log_entry"]
        assert ack["agent"]["id"] == ops and ack["channel"]["type"] == "website"
    # Administrator's page alone was not in the bundle.
    assert (await get(h, f"/incidents/{second}"))["incident"]["status"] == "triggered"


async def test_a_send_that_finds_no_free_connection_stays_due_and_is_no_attempt(
        world: World, smtp: SmtpServer) -> None:
    email = EmailChannel(host=smtp.host, port=smtp.port, sender="Tocsin <tocsin@tocsin.test>", now=world.clock.now,
                         pool_wait=0.1, pool_size=1)
    assert isinstance(world.step.channels, Channels)  # the real channels (not captured ones)
    step = NotifyStep(world.h.tocsin.db, world.clock.now, replace(world.step.channels, email=email), world._record,
                      world.h.tocsin.settings.base_url, random=lambda: 0.5)
    nid = await world.add()
    held = await email.pool.acquire(wait=1.0)  # another send holds the only connection
    try:
        result = await step.run(world.clock.now())
    finally:
        email.pool.release(held, healthy=True)
    row = await world.row(nid)
    assert (row.status, row.attempts, row.due_at) == (PENDING, 0, world.start)
    assert "no SMTP connection came free" in (row.last_error or "")
    assert (result.more, result.next_due, result.skipped_locked) == (False, None, True)  # look again soon
    assert smtp.inbox.received == [] and world.sends == [("email", "retry")]
    await step.run(world.clock.now())  # the connection is free again: sent, one attempt
    row = await world.row(nid)
    assert (row.status, row.attempts) == (SENT, 1) and len(smtp.inbox.received) == 1
    await email.aclose()


def test_only_incidents_paged_alone_have_their_alert_details_read() -> None:
    def row(incident: str, user: str, address: str, kind: str = INCIDENT) -> Notification:
        return Notification(id=new_id(), kind=kind, incident_id=incident, user_id=user, channel="email",
                            address=address, contact_method_id=None)

    rows = [row("A", "ann", "ann@x"), row("B", "ann", "ann@x"),  # a bundle for Ann
            row("A", "bob", "bob@x"), row("A", "bob", "bob@x"),  # two rules, one incident: a single page
            row("C", "cy", "cy@x"), row("D", "cy", "cy@x", kind=TEST)]
    assert paged_alone(rows) == {"A", "C"}
    assert message_key(rows[0]) == message_key(rows[1]) != message_key(rows[2])
    assert message_key(rows[5]) == (rows[5].id,)  # a test message is always its own


async def test_a_send_whose_engine_died_before_recording_it_is_recorded_not_sent_again(
        world: World, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    nid = await world.add()
    world.clock.advance(minutes=1)

    async def die(*_: Any, **__: Any) -> None:  # the provider accepted; the engine dies before recording
        raise RuntimeError("killed")

    with monkeypatch.context() as patch:
        patch.setattr(world.step, "_record", die)
        with pytest.raises(RuntimeError, match="killed"):
            await world.step.run(world.clock.now())
    assert len(smtp.inbox.received) == 1 and (await world.row(nid)).status == PENDING
    async with world.h.tocsin.db.transaction() as session:
        receipt = await session.get(MessageReceipt, nid)
        assert receipt is not None and receipt.provider_response is not None
    result = await world.step.run(world.clock.now())  # the next claimer (another engine, a restart)
    assert result.done == 1
    row = await world.row(nid)
    assert row.status == SENT and row.provider_response == receipt.provider_response
    assert len(smtp.inbox.received) == 1  # not sent again
    assert [e["summary"] for e in await world.notify_log()] == [
        "Notified Administrator by EMAIL (admin@tocsin.test): success."]
    async with world.h.tocsin.db.transaction() as session:
        assert await session.get(MessageReceipt, nid) is None  # its part is done


async def test_a_bundle_whose_engine_died_is_recorded_from_one_receipt_even_when_claimed_in_parts(
        world: World, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    others = [(await create(world.h, title=f"Disk full on db-{n}"))["id"] for n in (2, 3)]
    ids = [await world.add(delay=timedelta(seconds=n), incident_id=incident)
           for n, incident in enumerate([world.incident["id"], *others])]
    world.clock.advance(minutes=1)

    async def die(*_: Any, **__: Any) -> None:
        raise RuntimeError("killed")

    with monkeypatch.context() as patch:
        patch.setattr(world.step, "_record", die)
        with pytest.raises(RuntimeError, match="killed"):
            await world.step.run(world.clock.now())
    assert len(smtp.inbox.received) == 1  # one bundled email for the three pages
    async with world.h.tocsin.db.transaction() as session:
        [receipt] = await session.scalars(select(MessageReceipt))
        assert (receipt.id, receipt.notification_ids, receipt.bundle) == (ids[0], ids, ids[0])

    # The next claimer takes two rows at a time: it records those two and keeps the receipt for the third.
    small = world.with_channels(world.h.tocsin.settings, batch_size=2)
    first = await small.run(world.clock.now())
    assert first.done == 2 and [(await world.row(n)).status for n in ids] == [SENT, SENT, PENDING]
    async with world.h.tocsin.db.transaction() as session:
        [receipt] = await session.scalars(select(MessageReceipt))
        assert receipt.notification_ids == [ids[2]]
    second = await small.run(world.clock.now())
    assert second.done == 1 and [(await world.row(n)).status for n in ids] == [SENT, SENT, SENT]
    assert len(smtp.inbox.received) == 1  # none sent again
    assert [(await world.row(n)).detail for n in ids] == [{"bundle": ids[0]}] * 3  # replies act on the bundle
    async with world.h.tocsin.db.transaction() as session:
        assert list(await session.scalars(select(MessageReceipt))) == []


def due(nid: str) -> DueSend:
    return cast(DueSend, SimpleNamespace(id=nid))


SENT_OUTCOME, FAILED_OUTCOME = Outcome("x", SENT, attempted=True), Outcome("x", FAILED, attempted=True)


def test_settled_receipts_delete_this_runs_own_and_narrow_a_dead_engines() -> None:
    sent, failed = SENT_OUTCOME, FAILED_OUTCOME
    old = Receipt("A", frozenset({"A", "B", "C"}), None, "A")
    rows = [due("A"), due("B"), due("N1"), due("N2")]
    # A dead engine's receipt for A, B and C; this batch has A and B, and two fresh sends (one failed).
    assert settled_receipts(rows, [sent, sent, sent, failed], {"A": old, "B": old}, fresh=True) == (
        ["N1"], ["A"], ["A", "B", "N1"])
    assert settled_receipts(rows[:2], [sent, sent], {"A": old, "B": old}, fresh=False) == ([], ["A"], ["A", "B"])
    assert settled_receipts(rows[2:], [sent, sent], {}, fresh=False) == ([], [], ["N1", "N2"])  # SQLite: final


async def test_engines_recording_parts_of_one_receipt_narrow_the_stored_list_not_what_they_read(
        world: World) -> None:
    db = world.h.tocsin.db
    ids = [new_id() for _ in range(3)]
    async with db.transaction() as session:
        await session.execute(insert(RECEIPTS), receipt_row(ids, world.start, {"ok": 1}, ids[0]))
    read = Receipt(ids[0], frozenset(ids), {"ok": 1}, ids[0])  # what each engine read at its claim
    for part in ([ids[1]], [ids[2]]):  # two engines, each recording its part from that same read
        async with db.transaction() as session:
            await settle(session, [due(n) for n in part], [SENT_OUTCOME] * len(part), dict.fromkeys(ids, read),
                         fresh=False, sqlite=db.is_sqlite)
    async with db.transaction() as session:
        assert list(await session.scalars(select(MessageReceipt.notification_ids))) == [[ids[0]]]
        await settle(session, [due(ids[0])], [SENT_OUTCOME], dict.fromkeys(ids, read), fresh=False,
                     sqlite=db.is_sqlite)
    async with db.transaction() as session:
        assert list(await session.scalars(select(MessageReceipt))) == []  # the last part recorded: gone


async def test_an_acceptance_whose_record_fails_is_kept_as_a_receipt_and_recorded_once(
        world: World, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    if not world.h.tocsin.db.is_sqlite:
        pytest.skip("on PostgreSQL an acceptance is always a receipt first")
    nid = await world.add()
    world.clock.advance(minutes=1)
    original, calls = world.step._record_checked, []

    async def fails_once(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 1:  # the write right after the provider's answer
            raise RuntimeError("database is locked")
        await original(*args, **kwargs)

    monkeypatch.setattr(world.step, "_record_checked", fails_once)
    result = await world.step.run(world.clock.now())
    assert result.done == 1 and len(calls) == 2 and len(smtp.inbox.received) == 1
    row = await world.row(nid)
    assert (row.status, row.attempts) == (SENT, 1)
    assert [e["summary"] for e in await world.notify_log()] == [
        "Notified Administrator by EMAIL (admin@tocsin.test): success."]
    async with world.h.tocsin.db.transaction() as session:
        assert await session.get(MessageReceipt, nid) is None  # the run's last write deleted it
    again = await world.step.run(world.clock.now())
    assert again.done == 0 and len(smtp.inbox.received) == 1
