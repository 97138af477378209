"""Configuration from ``TOCSIN_*`` environment variables and an optional TOML file.

Precedence: environment variables, then the file named by ``TOCSIN_CONFIG_FILE``
(``[tocsin]`` table or top-level keys), then the defaults below.
"""

from __future__ import annotations

import os
import tomllib
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

# Comma-separated in the environment ("127.0.0.0/8,10.0.0.0/8"), a string or a list in the file.
# NoDecode: pydantic-settings would otherwise read a list-typed variable as JSON.
Networks = Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode]
Addresses = Annotated[tuple[str, ...], NoDecode]


def _items(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValueError("must be a comma-separated list")
    return [str(v).strip() for v in value if str(v).strip()]


def _networks(value: Any) -> tuple[IPv4Network | IPv6Network, ...]:
    out = []
    for item in _items(value):
        try:
            out.append(ip_network(item, strict=True))
        except ValueError:
            raise ValueError(f"{item!r} is not a CIDR range (such as 10.0.0.0/8) with no host bits set") from None
    return tuple(out)


def _addresses(value: Any) -> tuple[str, ...]:
    out = []
    for item in _items(value):
        try:
            out.append(str(ip_address(item)))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address") from None
    return tuple(out)


class _TomlFileSource(PydanticBaseSettingsSource):
    """Reads the optional config file; missing file means no values."""

    def _read(self) -> dict[str, Any]:
        path = os.environ.get("TOCSIN_CONFIG_FILE")
        if not path or not Path(path).is_file():
            return {}
        data = tomllib.loads(Path(path).read_text())
        section = data.get("tocsin", data)
        return {k: v for k, v in section.items() if k in self.settings_cls.model_fields}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._read().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._read()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    database_url: str = "sqlite:///tocsin.db"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    # Events per minute per integration key over a sliding 60 s window; 0 turns it off.
    events_rate_limit: int = Field(default=1200, ge=0)
    # REST requests per minute per credential.
    rest_rate_limit: int = Field(default=960, ge=0)
    # Lifetime of OAuth access tokens (client credentials grant), in seconds.
    oauth_token_ttl: int = Field(default=3600, ge=60, le=86400)
    # Connections (tocsin.serving): most open at once (also kept below the open-file limit),
    # seconds to send a whole request (or to take any of an answer), seconds an idle keep-alive
    # connection is kept.
    max_connections: int = Field(default=4096, ge=1)
    request_timeout: float = Field(default=30.0, gt=0)
    keepalive_timeout: int = Field(default=5, ge=1)
    admin_email: str = "admin@example.com"
    # A test and development facility (tocsin.clock.ScaledClock): run time ``clock_rate`` times
    # faster than the system clock, counted from the unix time ``clock_epoch_real`` (default: the
    # process's start), so several processes a test starts share one fast clock. 1.0 is the
    # system clock; never set it in production.
    clock_rate: float = Field(default=1.0, gt=0)
    clock_epoch_real: float | None = None
    log_level: str = "info"
    # A test and development facility: emails, SMS and calls are recorded in memory instead of
    # sent (tocsin.notifications.capture; ``tocsin dev`` and the ``tocsin.testing`` fixture).
    capture_notifications: bool = False
    # Email notifications over SMTP (a channel is live when host and sender are set).
    # smtp_security: "none" (plain, never upgraded), "starttls" (upgrade required), "tls" (implicit TLS).
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    email_from: str = ""
    # SMS and voice through Twilio's REST API, or any provider (or local test double) speaking it.
    twilio_api_url: str = "https://api.twilio.com"
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from: str = ""
    # Network safety (tocsin.outbound, tocsin.allowlists). Outbound deliveries (webhooks and other
    # integrations) go to public addresses only, plus these networks (e.g. a receiver on the LAN).
    webhook_allowed_networks: Networks = ()
    # The source addresses outbound deliveries come from, published at GET /webhook_ips.
    webhook_ips: Addresses = ()
    # Days finished outbound deliveries (webhooks, forwarders, chat) are kept, with their attempts
    # and events, before the retention sweep deletes them (tocsin.webhooks.retention). At least one
    # day, so the 12-hour failure-rate window is always whole.
    webhook_retention_days: int = Field(default=30, ge=1, le=3650)
    # Reverse proxies whose X-Forwarded-For is believed: the client address is the right-most
    # X-Forwarded-For entry that is not one of them. Never believed from anyone else.
    trusted_proxies: Networks = ()

    @field_validator("smtp_security", mode="before")
    @classmethod
    def _security_lowercase(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("webhook_allowed_networks", "trusted_proxies", mode="before")
    @classmethod
    def _cidr_list(cls, value: Any) -> Any:
        return _networks(value)

    @field_validator("webhook_ips", mode="before")
    @classmethod
    def _address_list(cls, value: Any) -> Any:
        return _addresses(value)

    @property
    def base_url(self) -> str:
        """Base of every ``html_url``: the public URL, or the listen address."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlFileSource(settings_cls))

