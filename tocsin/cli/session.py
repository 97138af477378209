"""The context of one REST command: its profile, clients, output and time zone, and the one place
where failures become an error message, a hint and an exit code (never a traceback).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import click
import typer

from tocsin.cli import exits
from tocsin.cli.output import Output, UsageProblem
from tocsin.cli.profiles import Profile, ProfileError, config_path, load, resolve
from tocsin.cli.times import TimeError, parse_time, system_zone, zone_named
from tocsin.client import ApiError, Credentials, EventsClient, RestClient

P = ParamSpec("P")
R = TypeVar("R")


class Failure(Exception):
    """A failure found by the command itself (a name that matches nothing, no credential)."""

    def __init__(self, message: str, exit_code: int, hint: str | None = None, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message, self.exit_code, self.hint, self.details = message, exit_code, hint, details


def not_found(message: str, hint: str | None = None) -> Failure:
    return Failure(message, exits.NOT_FOUND, hint)


def usage(message: str, hint: str | None = None) -> Failure:
    return Failure(message, exits.USAGE, hint)


@dataclass
class Cli:
    out: Output
    profile: Profile
    zone: tzinfo
    _rest: RestClient | None = field(default=None, repr=False)
    _events: EventsClient | None = field(default=None, repr=False)

    @property
    def rest(self) -> RestClient:
        if self._rest is None:
            if not self.profile.url:
                raise Failure("no server configured", exits.AUTH,
                              "run: tocsin login --url URL (or set TOCSIN_API_URL and TOCSIN_API_TOKEN)")
            if not self.profile.token:
                raise Failure(f"no API token for {self.profile.url}", exits.AUTH,
                              "run: tocsin login (or set TOCSIN_API_TOKEN)")
            credentials = Credentials(self.profile.url, self.profile.token, self.profile.from_email,
                                      self.profile.scheme)
            self._rest = RestClient(credentials, on_wait=self._waiting)
        return self._rest

    @property
    def events(self) -> EventsClient:
        if self._events is None:
            base = self.profile.events_base
            if not base:
                raise Failure("no server configured for events", exits.AUTH,
                              "run: tocsin login --url URL, or set TOCSIN_EVENTS_URL (https://events.pagerduty.com "
                              "for PagerDuty)")
            self._events = EventsClient(base, on_wait=self._waiting)
        return self._events

    def client_for(self, credentials: Credentials) -> RestClient:
        """A client of another server (an import's source), waiting out 429s as the profile's does;
        the caller closes it."""
        return RestClient(credentials, on_wait=self._waiting)

    def _waiting(self, seconds: float, error: ApiError) -> None:
        reason = "rate limited" if error.status == 429 else (error.message if error.status is None else
                                                             f"HTTP {error.status}")
        self.out.note(f"{reason}; retrying in {seconds:.1f} s")

    def now(self) -> datetime:
        return datetime.now(UTC)  # a client: the terminal's clock is the right one

    def time(self, text: str, bare: Literal["past", "future"] | None = None) -> datetime:
        """The instant ``text`` names, in UTC (so adding minutes to it counts real minutes)."""
        return parse_time(text, self.now(), self.zone, bare).astimezone(UTC)

    def close(self) -> None:
        for client in (self._rest, self._events):
            if client is not None:
                client.close()


def open_cli(profile: str | None = None, as_json: bool = False, tz: str | None = None) -> Cli:
    env = dict(os.environ)
    chosen = resolve(load(config_path(env)), profile, env)
    zone = zone_named(tz) if tz else system_zone(env)
    return Cli(Output(as_json), chosen, zone)


def needs_from(error: ApiError) -> bool:
    """The server wants the acting user's email (the ``From`` header) for this write."""
    said = " ".join((error.message, *error.errors)).lower()
    return error.status == 400 and "from" in said and ("header" in said or "email" in said)


def hint_for(error: ApiError, profile_hint: str = "tocsin login") -> str | None:
    """What to try next, from the status and the server's words."""
    if error.status is None:
        return "is the server running and the URL right? check `tocsin profile list` or TOCSIN_API_URL"
    if error.status == 401:
        return f"check your token: {profile_hint} (or TOCSIN_API_TOKEN)"
    if error.status == 403:
        return ("this credential may not do that (a read-only key, the user's role or the OAuth scopes); "
                "use another key: tocsin login")
    if error.status == 404:
        return "check the id or name (the matching `list` command shows them)"
    if error.status == 429:
        wait = f" in {error.retry_after:.0f} s" if error.retry_after else " later"
        return f"rate limited: try again{wait}"
    if needs_from(error):
        return "writes need the email of a user: tocsin login --from EMAIL (or TOCSIN_API_FROM)"
    if error.status >= 500:
        return "the server failed; its log says why"
    return None


def report(out: Output, exc: BaseException) -> int:
    """Print a failure the way every command does; the exit code it means."""
    if isinstance(exc, ApiError):
        where = f" (HTTP {exc.status})" if exc.status is not None else ""
        out.error(f"{exc.message}{where}", exc.errors, hint_for(exc))
        return exits.for_status(exc.status)
    if isinstance(exc, Failure):
        out.error(exc.message, exc.details, exc.hint)
        return exc.exit_code
    if isinstance(exc, UsageProblem | TimeError):
        out.error(str(exc))
        return exits.USAGE
    if isinstance(exc, ProfileError):
        out.error(str(exc))
        return exits.USAGE
    out.error(f"unexpected {type(exc).__name__}: {exc}", hint="this is a bug in tocsin; TOCSIN_DEBUG=1 shows where")
    return exits.API_ERROR


def handled(func: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command: any failure is reported (message, the server's errors, a hint) and the
    process exits with the code ``exits`` documents. Typer reads the wrapped signature."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.ClickException):
            raise
        except KeyboardInterrupt:
            Output().note("interrupted")
            raise typer.Exit(exits.INTERRUPTED) from None
        except Exception as exc:
            if os.environ.get("TOCSIN_DEBUG") and not isinstance(exc, ApiError | Failure | UsageProblem):
                raise
            code = report(Output(), exc)
            raise typer.Exit(code) from None

    return wrapper


def read_stdin_ids() -> list[str]:
    """Ids piped in: whitespace-separated words; ``#`` starts a comment."""
    found: list[str] = []
    for line in sys.stdin.read().splitlines():
        found += line.split("#", 1)[0].split()
    return list(dict.fromkeys(found))


def json_object_option(raw: str, option: str) -> dict[str, Any]:
    """An option's JSON object, given inline or as ``@file.json``; anything else is a usage error."""
    text = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise usage(f"{option} is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise usage(f"{option} must be a JSON object")
    return parsed


def confirm(out: Output, question: str, yes: bool) -> None:
    """Ask on the terminal (unless ``--yes``); anything but yes, or no answer at all (stdin closed,
    as in a script), does nothing and exits 1."""
    if yes:
        return
    try:
        agreed = typer.confirm(question, default=False, err=True)
    except click.exceptions.Abort:
        agreed = False
    if not agreed:
        out.note("Nothing done (add --yes to skip this question).")
        raise typer.Exit(exits.API_ERROR)
