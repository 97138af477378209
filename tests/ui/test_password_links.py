"""Password reset and invitations: a signed, expiring, single-use link emailed through the real
SMTP channel (an aiosmtpd server), and ``tocsin user set-password``."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import Harness
from tests.engine.smtp_channel import SmtpServer, smtp_server
from tests.ui.helpers import PASSWORD, browser, csrf_of, set_password, sign_in
from tocsin.cli import app as cli_app
from tocsin.clock import FrozenClock
from tocsin.notifications.channels import Channels
from tocsin.ui import accounts, mailer
from tocsin.ui.models import INVITATION, RESET

__all__ = ["smtp_server"]


@pytest.fixture
def mail(harness: Harness, smtp_server: SmtpServer) -> SmtpServer:
    """The harness's channels pointed at the test SMTP server (the real EmailChannel)."""
    settings = harness.tocsin.settings.model_copy(update={
        "smtp_host": smtp_server.host, "smtp_port": smtp_server.port, "email_from": "Tocsin <tocsin@tocsin.test>"})
    channels = Channels.from_settings(settings, harness.tocsin.runtime.clock.now)
    harness.tocsin.channels = channels.for_channel
    return smtp_server


def _link(server: SmtpServer) -> str:
    envelope = server.mailbox.received[-1]
    assert isinstance(envelope.content, bytes)
    body = message_from_bytes(envelope.content).get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"http://tocsin\.test(/ui/password/set\?\S+)", body.decode())
    assert found, body
    return found.group(1)


async def _choose(c: Any, path: str, password: str, again: str | None = None) -> Any:
    form = await c.get(path)
    assert form.status_code == 200, form.text
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    purpose = re.search(r'name="purpose" value="([^"]+)"', form.text)
    assert token and purpose
    return await c.post("/ui/password/set", data={"csrf": csrf_of(form.text), "token": token.group(1),
                                                  "purpose": purpose.group(1), "password": password,
                                                  "password_again": password if again is None else again})


async def test_a_reset_link_is_emailed_works_once_and_ends_old_sessions(harness: Harness, mail: SmtpServer) -> None:
    h = harness
    await set_password(h, h.seed.admin_email, "the old password")
    async with browser(h) as old_browser:
        await sign_in(old_browser, h.seed.admin_email, "the old password")
        assert "Sign out" in (await old_browser.get("/")).text
        async with browser(h) as c:
            page = await c.get("/ui/password/forgot")
            r = await c.post("/ui/password/forgot", data={"csrf": csrf_of(page.text), "email": h.seed.admin_email})
            assert r.status_code == 200 and "is on its way" in r.text
            unknown = await c.post("/ui/password/forgot", data={"csrf": csrf_of(page.text), "email": "no@x.example"})
            assert unknown.text.replace("no@x.example", "") == r.text.replace(h.seed.admin_email, "")
            assert len(mail.mailbox.received) == 1  # nobody to send to for the unknown address
            flood = await c.post("/ui/password/forgot", data={"csrf": csrf_of(page.text),
                                                              "email": h.seed.admin_email})
            assert flood.text == r.text and len(mail.mailbox.received) == 1  # one a minute at most
            [envelope] = mail.mailbox.received
            assert envelope.rcpt_tos == [h.seed.admin_email]
            link = _link(mail)
            mismatch = await _choose(c, link, "a new password", "another one")
            assert mismatch.status_code == 400 and "not the same" in mismatch.text
            short = await _choose(c, link, "short")
            assert short.status_code == 400 and "at least 8" in short.text
            done = await _choose(c, link, "a new password")
            assert done.status_code == 303 and done.headers["location"] == "/ui/sign-in?notice=password_set"
            again = await c.get(link)
            assert again.status_code == 410  # used once
            assert (await sign_in(c, h.seed.admin_email, "the old password")).status_code == 400
            assert (await sign_in(c, h.seed.admin_email, "a new password")).status_code == 303
        # The session opened with the old password ended with it.
        assert "Sign in to Tocsin" in (await old_browser.get("/")).text


async def test_links_expire_and_only_the_newest_works(harness: Harness) -> None:
    h = harness
    clock = FrozenClock(h.tocsin.runtime.clock.now())
    h.tocsin.runtime.clock = clock
    async with h.tocsin.db.transaction() as session:
        admin = (await accounts.live_user(session, email=h.seed.admin_email)).id
        first = await accounts.create_link(session, admin, RESET, clock.now())
        second = await accounts.create_link(session, admin, RESET, clock.now())
        invite = await accounts.create_link(session, admin, INVITATION, clock.now())
    async with h.tocsin.db.transaction() as session:
        assert await accounts.link_user(session, first, RESET, clock.now()) is None  # replaced
        assert await accounts.link_user(session, second, RESET, clock.now()) is not None
        assert await accounts.link_user(session, second, INVITATION, clock.now()) is None  # wrong purpose
        assert await accounts.link_user(session, second[:-3] + "abc", RESET, clock.now()) is None  # tampered
        later = clock.now() + accounts.LINK_LIFETIME[RESET] + timedelta(seconds=1)
        assert await accounts.link_user(session, second, RESET, later) is None  # expired
        assert await accounts.link_user(session, invite, INVITATION, later) is not None  # 7 days


async def test_an_invitation_goes_out_through_the_email_channel(harness: Harness, mail: SmtpServer) -> None:
    h = harness
    async with h.tocsin.db.transaction() as session:
        admin = await accounts.live_user(session, email=h.seed.admin_email)
        who = (admin.id, admin.email, admin.name)
    problem = await mailer.send_link(h.tocsin.db, h.tocsin.runtime.clock.now, "http://tocsin.test",
                                     h.tocsin.channels("email"), who, INVITATION)
    assert problem is None
    content = mail.mailbox.received[0].content
    assert isinstance(content, bytes)
    assert "invited" in message_from_bytes(content).get("Subject", "")
    async with browser(h) as c:
        assert (await _choose(c, _link(mail), PASSWORD)).status_code == 303
        assert (await sign_in(c, h.seed.admin_email)).status_code == 303


async def test_an_unconfigured_email_channel_says_why(harness: Harness) -> None:
    h = harness
    async with h.tocsin.db.transaction() as session:
        admin = await accounts.live_user(session, email=h.seed.admin_email)
        who = (admin.id, admin.email, admin.name)
    problem = await mailer.send_link(h.tocsin.db, h.tocsin.runtime.clock.now, "http://tocsin.test",
                                     Channels.from_settings(h.tocsin.settings, h.tocsin.runtime.clock.now).email,
                                     who, INVITATION)
    assert problem is not None and "TOCSIN_SMTP_HOST" in problem


def test_set_password_command_reads_stdin_or_asks_twice(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = harness
    monkeypatch.setenv("TOCSIN_DATABASE_URL", h.db_url)
    runner = CliRunner()
    r = runner.invoke(cli_app, ["user", "set-password", h.seed.admin_email, "--password-stdin"],
                      input="from standard input\n")
    assert r.exit_code == 0, r.output
    assert "Password set for" in r.output
    r = runner.invoke(cli_app, ["user", "set-password", h.seed.admin_email], input="first one!\nsecond one\n")
    assert r.exit_code == 1 and "not the same" in r.output
    r = runner.invoke(cli_app, ["user", "set-password", h.seed.admin_email, "--password-stdin"], input="short\n")
    assert r.exit_code == 1 and "at least 8" in r.output
    r = runner.invoke(cli_app, ["user", "set-password", "nobody@example.com", "--password-stdin"], input="x" * 9)
    assert r.exit_code == 1
    r = runner.invoke(cli_app, ["user", "set-password", h.seed.admin_email], input="typed twice!\ntyped twice!\n")
    assert r.exit_code == 0, r.output
