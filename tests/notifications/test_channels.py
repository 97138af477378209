"""The channel set built from the settings, and the settings themselves."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr, ValidationError

from tests.notifications.servers import SmtpServer
from tocsin.config import Settings
from tocsin.notifications.channel import Message, NotConfigured
from tocsin.notifications.channels import Channels

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def note(channel: str, address: str = "a@example.com") -> Message:
    return Message(notification_id="PNOTE", channel=channel, address=address, subject="s", text="t")


async def test_nothing_configured_means_nothing_live_and_every_send_says_why() -> None:
    channels = Channels.from_settings(Settings(), lambda: NOW)
    assert channels.live() == []
    for name, needed in (("email", "TOCSIN_SMTP_HOST"), ("sms", "TOCSIN_TWILIO_ACCOUNT_SID"),
                         ("phone", "TOCSIN_TWILIO_FROM"), ("push", "mobile app")):
        with pytest.raises(NotConfigured) as caught:
            await channels.for_channel(name).send(note(name))
        assert needed in str(caught.value) and not caught.value.transient
    await channels.aclose()


async def test_an_unknown_channel_refuses_every_send() -> None:
    channels = Channels.from_settings(Settings(), lambda: NOW)
    with pytest.raises(NotConfigured, match="no channel named 'pigeon'"):
        await channels.for_channel("pigeon").send(note("pigeon"))


def test_configured_channels_are_live() -> None:
    settings = Settings(smtp_host="mail.example.com", email_from="tocsin@example.com", twilio_account_sid="AC1",
                        twilio_auth_token=SecretStr("tok"), twilio_from="+15005550006")
    assert Channels.from_settings(settings, lambda: NOW).live() == ["email", "sms", "phone"]
    assert Channels.from_settings(Settings(smtp_host="mail.example.com"), lambda: NOW).live() == []


async def test_the_settings_reach_the_email_channel(smtp_server: SmtpServer) -> None:
    settings = Settings(smtp_host=smtp_server.host, smtp_port=smtp_server.port, email_from="tocsin@example.com",
                        public_url="https://tocsin.example")
    channels = Channels.from_settings(settings, lambda: NOW)
    await channels.for_channel("email").send(note("email"))
    assert [r.recipients for r in smtp_server.inbox.received] == [["a@example.com"]]
    assert channels.email.pool.idle == 1  # kept open for the next message ...
    await channels.aclose()
    assert channels.email.pool.idle == 0  # ... until the channels close


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"SMTP_HOST": "mail.example.com", "SMTP_PORT": "587", "SMTP_USERNAME": "u",
                        "SMTP_PASSWORD": "hunter2", "SMTP_SECURITY": "STARTTLS", "EMAIL_FROM": "t@example.com",
                        "TWILIO_API_URL": "http://127.0.0.1:9", "TWILIO_ACCOUNT_SID": "AC1",
                        "TWILIO_AUTH_TOKEN": "tok", "TWILIO_FROM": "+1"}.items():
        monkeypatch.setenv(f"TOCSIN_{name}", value)
    settings = Settings()
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == ("mail.example.com", 587, "starttls")
    assert settings.smtp_password.get_secret_value() == "hunter2"
    assert settings.twilio_auth_token.get_secret_value() == "tok"
    assert settings.twilio_api_url == "http://127.0.0.1:9"


def test_secrets_never_show_in_the_settings_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.model_validate({"smtp_password": "hunter2", "twilio_auth_token": "tw-secret"})
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings: %s %r", settings, settings)
    for shown in (repr(settings), str(settings), settings.model_dump_json(), caplog.text):
        assert "hunter2" not in shown and "tw-secret" not in shown


@pytest.mark.parametrize("bad", ["ssl", "", "yes"])
def test_an_unknown_smtp_security_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="smtp_security"):
        Settings.model_validate({"smtp_security": bad})


def test_defaults() -> None:
    settings = Settings()
    assert (settings.smtp_port, settings.smtp_security, settings.twilio_api_url) == (25, "none",
                                                                                    "https://api.twilio.com")
