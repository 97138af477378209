"""Where the REST commands find their server: named profiles in a config file, environment on top.

The file is TOML under the user's config directory (``~/.config/tocsin/cli.toml`` on Linux;
``TOCSIN_CLI_CONFIG`` names another), readable by its owner only (0600, written atomically):

    default = "prod"
    [profiles.prod]
    url = "https://tocsin.example.com"
    token = "..."
    from = "me@example.com"

``TOCSIN_API_URL``, ``TOCSIN_API_TOKEN``, ``TOCSIN_API_FROM`` and ``TOCSIN_EVENTS_URL`` override the
chosen profile's fields; ``--profile`` (or ``TOCSIN_PROFILE``) chooses it. Tokens are never printed:
``Profile`` hides its token from ``repr``.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import click

FILE_NAME = "cli.toml"
DEFAULT_PROFILE = "default"
FIELDS = ("url", "token", "from", "events_url", "scheme")
ENV = {"url": "TOCSIN_API_URL", "token": "TOCSIN_API_TOKEN", "from": "TOCSIN_API_FROM",
       "events_url": "TOCSIN_EVENTS_URL"}
PAGERDUTY_API = "https://api.pagerduty.com"
PAGERDUTY_EVENTS = "https://events.pagerduty.com"


class ProfileError(Exception):
    """The config file cannot be read, or names no usable profile."""


@dataclass(frozen=True)
class Profile:
    name: str
    url: str | None = None
    token: str | None = field(default=None, repr=False)
    from_email: str | None = None
    events_url: str | None = None
    scheme: Literal["token", "bearer"] = "token"
    from_env: frozenset[str] = frozenset()  # fields the environment supplied

    @property
    def events_base(self) -> str | None:
        """Where events go: the profile's events URL, else PagerDuty's events host for PagerDuty's
        REST host, else the REST URL itself (Tocsin serves both)."""
        if self.events_url:
            return self.events_url
        if self.url and self.url.rstrip("/") == PAGERDUTY_API:
            return PAGERDUTY_EVENTS
        return self.url


@dataclass
class ConfigFile:
    default: str | None = None
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)


def config_path(env: Mapping[str, str]) -> Path:
    explicit = env.get("TOCSIN_CLI_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return Path(click.get_app_dir("tocsin")) / FILE_NAME


def load(path: Path) -> ConfigFile:
    if not path.exists():
        return ConfigFile()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"cannot read {path}: {exc}") from None
    profiles: dict[str, dict[str, str]] = {}
    for name, values in (data.get("profiles") or {}).items():
        if isinstance(values, dict):
            profiles[str(name)] = {k: str(v) for k, v in values.items() if k in FIELDS and v is not None}
    default = data.get("default")
    return ConfigFile(str(default) if isinstance(default, str) else None, profiles)


def render(config: ConfigFile) -> str:
    """The file's TOML (JSON string escapes are valid TOML basic strings)."""
    lines = ["# Written by `tocsin login`; holds API tokens: keep it private (mode 0600).", ""]
    if config.default:
        lines += [f"default = {json.dumps(config.default)}", ""]
    for name in sorted(config.profiles):
        lines.append(f"[profiles.{json.dumps(name)}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in config.profiles[name].items() if value]
        lines.append("")
    return "\n".join(lines)


def save(path: Path, config: ConfigFile) -> None:
    """Write atomically, readable by the owner only from the first byte (never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".cli-", suffix=".toml", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(render(config))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def chosen_name(config: ConfigFile, name: str | None, env: Mapping[str, str]) -> str:
    return name or env.get("TOCSIN_PROFILE") or config.default or DEFAULT_PROFILE


def resolve(config: ConfigFile, name: str | None, env: Mapping[str, str]) -> Profile:
    """The profile to use: the named (or default) one from the file, environment on top."""
    chosen = chosen_name(config, name, env)
    if name and name not in config.profiles:
        known = ", ".join(sorted(config.profiles)) or "none yet"
        raise ProfileError(f"no profile named {name!r} (profiles: {known}); create it with: "
                           f"tocsin login --profile {name}")
    values: dict[str, Any] = dict(config.profiles.get(chosen, {}))
    from_env = set()
    for key, variable in ENV.items():
        if env.get(variable):
            values[key] = env[variable]
            from_env.add(key)
    scheme = values.get("scheme", "token")
    return Profile(
        name=chosen, url=(values.get("url") or "").rstrip("/") or None, token=values.get("token") or None,
        from_email=values.get("from") or None, events_url=(values.get("events_url") or "").rstrip("/") or None,
        scheme="bearer" if scheme == "bearer" else "token", from_env=frozenset(from_env),
    )


def store(config: ConfigFile, name: str, url: str, token: str, from_email: str | None,
          events_url: str | None = None, scheme: str = "token", make_default: bool = False) -> ConfigFile:
    values = {"url": url.rstrip("/"), "token": token, "from": from_email or "", "events_url": events_url or "",
              "scheme": scheme if scheme != "token" else ""}
    profiles = {**config.profiles, name: {k: v for k, v in values.items() if v}}
    default = name if make_default or not config.default else config.default
    return ConfigFile(default, profiles)


def remove(config: ConfigFile, name: str) -> ConfigFile:
    profiles = {k: v for k, v in config.profiles.items() if k != name}
    default = config.default if config.default != name else (min(profiles) if profiles else None)
    return ConfigFile(default, profiles)
