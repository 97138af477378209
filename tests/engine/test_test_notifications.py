"""POST /users/{id}/contact_methods/{cm_id}/test: a "[Test message]" through the real channel
(a real SMTP server here), recorded as a TEST notification with the provider's answer."""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message as Email
from typing import Any

from sqlalchemy import select

from tests.conftest import Harness
from tests.engine.helpers import NOW, freeze, new_user
from tests.engine.smtp_channel import SmtpEmailChannel, SmtpServer, smtp_server
from tests.helpers import assert_error
from tests.users.people import key_for
from tocsin.notifications.channel import Channel
from tocsin.notifications.models import FAILED, SENT, TEST, Notification

__all__ = ["smtp_server"]  # the fixture, used by name


async def methods(h: Harness, user_id: str) -> dict[str, dict[str, Any]]:
    r = await h.client.get(f"/users/{user_id}/contact_methods", headers=h.auth)
    assert r.status_code == 200, r.text
    return {m["type"]: m for m in r.json()["contact_methods"]}


def email_only(server: SmtpServer) -> Any:
    def lookup(name: str) -> Channel:
        if name != "email":
            raise KeyError(name)
        return SmtpEmailChannel(server)
    return lookup


async def rows(h: Harness) -> list[Notification]:
    async with h.tocsin.db.transaction() as session:
        return list((await session.execute(select(Notification).order_by(Notification.created_at))).scalars())


async def test_a_user_tests_their_own_email_through_a_real_smtp_server(
    harness: Harness, smtp_server: SmtpServer,
) -> None:
    h = harness
    freeze(h)
    h.tocsin.channels = email_only(smtp_server)
    ada = await new_user(h, "Ada")
    email = (await methods(h, ada))["email_contact_method"]
    r = await h.client.post(f"/users/{ada}/contact_methods/{email['id']}/test", headers=await key_for(h, ada))
    assert r.status_code == 200, r.text
    sent = r.json()["notification"]
    assert sent["type"] == "email_notification" and sent["status"] == "sent" and sent["kind"] == "test"
    assert sent["address"] == "ada@example.com" and sent["user"]["id"] == ada and sent["error"] is None
    assert sent["provider_response"]["code"] == 250 and "Queued as TEST1" in sent["provider_response"]["reply"]
    assert sent["started_at"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    [envelope] = smtp_server.mailbox.received
    assert envelope.rcpt_tos == ["ada@example.com"]
    assert isinstance(envelope.content, bytes)
    mail: Email = message_from_bytes(envelope.content)
    assert str(mail["Subject"]).startswith("[Test message]")
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes) and payload.decode().startswith("[Test message]")
    assert mail["Message-ID"] == f"<{sent['id']}@tocsin.test>"
    [row] = await rows(h)
    assert (row.id, row.kind, row.status, row.attempts, row.incident_id) == (sent["id"], TEST, SENT, 1, None)
    assert row.sent_at == NOW and row.contact_method_id == email["id"]
    listed = await h.client.get("/notifications", headers=h.auth)
    assert [n["id"] for n in listed.json()["notifications"]] == [sent["id"]]


async def test_a_refused_send_is_a_failed_notification_with_the_providers_answer(
    harness: Harness, smtp_server: SmtpServer,
) -> None:
    h = harness
    freeze(h)
    h.tocsin.channels = email_only(smtp_server)
    ada = await new_user(h, "Ada")
    r = await h.client.post(f"/users/{ada}/contact_methods", headers=h.writer, json={"contact_method": {
        "type": "email_contact_method", "label": "Dead", "address": "refuse-me@example.com"}})
    dead = r.json()["contact_method"]
    r = await h.client.post(f"/users/{ada}/contact_methods/{dead['id']}/test", headers=h.writer)
    assert r.status_code == 200, r.text
    failed = r.json()["notification"]
    assert failed["status"] == "failed" and "550" in failed["error"]
    assert failed["provider_response"] == {"code": 550, "reply": "5.1.1 No such mailbox here"}
    assert smtp_server.mailbox.received == []
    [row] = await rows(h)
    assert row.status == FAILED and row.sent_at is None and row.last_error == failed["error"]


async def test_a_channel_that_is_not_configured_is_reported_not_skipped(harness: Harness) -> None:
    h = harness  # the app's default channels: none configured
    freeze(h)
    ada = await new_user(h, "Ada")
    r = await h.client.post(f"/users/{ada}/contact_methods", headers=h.writer, json={"contact_method": {
        "type": "sms_contact_method", "label": "Mobile", "address": "5555550100", "country_code": 1}})
    sms = r.json()["contact_method"]
    r = await h.client.post(f"/users/{ada}/contact_methods/{sms['id']}/test", headers=h.writer)
    assert r.status_code == 200, r.text
    body = r.json()["notification"]
    assert (body["status"], body["type"], body["address"]) == ("failed", "sms_notification", "+15555550100")
    assert "not configured" in body["error"]
    [row] = await rows(h)
    assert row.status == FAILED and "not configured" in (row.last_error or "")


async def test_push_has_no_channel_yet(harness: Harness, smtp_server: SmtpServer) -> None:
    h = harness
    h.tocsin.channels = email_only(smtp_server)
    ada = await new_user(h, "Ada")
    r = await h.client.post(f"/users/{ada}/contact_methods", headers=h.writer, json={"contact_method": {
        "type": "push_notification_contact_method", "label": "App", "address": "device-token", "device_type": "ios"}})
    push = r.json()["contact_method"]
    r = await h.client.post(f"/users/{ada}/contact_methods/{push['id']}/test", headers=h.writer)
    body = r.json()["notification"]
    assert body["status"] == "failed" and body["address"] is None and "no channel" in body["error"]


async def test_unknown_ids_and_other_peoples_methods_are_refused(harness: Harness, smtp_server: SmtpServer) -> None:
    h = harness
    h.tocsin.channels = email_only(smtp_server)
    ada, bob = await new_user(h, "Ada"), await new_user(h, "Bob")
    ada_email = (await methods(h, ada))["email_contact_method"]
    assert_error(await h.client.post(f"/users/PNOSUCH/contact_methods/{ada_email['id']}/test", headers=h.writer),
                 404, 2100)
    assert_error(await h.client.post(f"/users/{ada}/contact_methods/PNOSUCH/test", headers=h.writer), 404, 2100)
    assert_error(await h.client.post(f"/users/{bob}/contact_methods/{ada_email['id']}/test", headers=h.writer),
                 404, 2100)  # Ada's method is not Bob's
    # Bob (not an admin) may not test Ada's contact method; an admin may.
    assert_error(await h.client.post(f"/users/{ada}/contact_methods/{ada_email['id']}/test",
                                     headers=await key_for(h, bob)), 403, 2010)
    assert smtp_server.mailbox.received == [] and await rows(h) == []
    r = await h.client.post(f"/users/{ada}/contact_methods/{ada_email['id']}/test", headers=h.writer)
    assert r.status_code == 200 and r.json()["notification"]["status"] == "sent"
    assert len(smtp_server.mailbox.received) == 1
