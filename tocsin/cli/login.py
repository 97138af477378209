"""``tocsin login``, ``logout`` and ``profile``: where the REST commands connect, kept in the user's
config file (``profiles``). A token is read from a hidden prompt, the option or stdin, checked
against the server, and never printed back."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from tocsin.cli import exits, options
from tocsin.cli.output import Column, Output
from tocsin.cli.profiles import Profile, chosen_name, config_path, load, remove, resolve, save, store
from tocsin.cli.session import Failure, handled, usage
from tocsin.client import ApiError, Credentials, RestClient

profile_app = typer.Typer(help="The profiles `tocsin login` saved (url, From email; never the token).",
                          no_args_is_help=True)


@handled
def login(
    url: Annotated[str, typer.Option("--url", prompt="Server URL", help="The REST API's base URL (Tocsin's URL, or "
                                     "https://api.pagerduty.com).")],
    token: Annotated[str | None, typer.Option(
        "--token", help="The API key or OAuth token; '-' reads it from stdin; default: a hidden prompt.",
        show_default=False)] = None,
    from_email: Annotated[str | None, typer.Option(
        "--from", help="Your email: the From header writes with an account key need.", show_default=False)] = None,
    events_url: Annotated[str | None, typer.Option(
        "--events-url", help="Where events go, if not the same server (PagerDuty: found by itself).",
        show_default=False)] = None,
    oauth: Annotated[bool, typer.Option("--oauth", help="The token is an OAuth access token (sent as Bearer).")]
    = False,
    profile: Annotated[str | None, typer.Option("--profile", "-P", help="Save as this profile (default: the "
                                                "default one).", show_default=False)] = None,
    make_default: Annotated[bool, typer.Option("--default", help="Make it the default profile.")] = False,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Check the token against the server first.")]
    = True,
) -> None:
    """Save a server URL, token and From email as a profile (file mode 0600)."""
    out = Output()
    env = dict(os.environ)
    path = config_path(env)
    config = load(path)
    name = profile or chosen_name(config, None, env)
    if token == "-":
        token = sys.stdin.readline().strip()
    elif token is None:
        token = typer.prompt("API token", hide_input=True, err=True).strip()
    if not token:
        raise usage("no token given")
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise usage(f"{url!r} is not an http(s) URL")
    if verify:
        _check(Credentials(url, token, from_email, "bearer" if oauth else "token"))
    save(path, store(config, name, url, token, from_email, events_url, "bearer" if oauth else "token", make_default))
    out.note(f"Saved profile {name!r} for {url} in {path} (readable by you only).")


def _check(credentials: Credentials) -> None:
    """One read every credential may make; refuses to save a token the server refuses."""
    with RestClient(credentials, max_retries=2) as rest:
        try:
            rest.get("/abilities")
        except ApiError as exc:
            if exc.status in (401, 403) or exc.status is None:
                raise Failure(f"the server refused this token: {exc.message}" if exc.status else exc.message,
                              exits.for_status(exc.status),
                              "nothing was saved; check the URL and token (or --no-verify)") from None
            if exc.status != 404:  # a server without /abilities: the token was not refused
                raise


@handled
def logout(
    profile: Annotated[str | None, typer.Option("--profile", "-P", help="The profile to forget (default: the "
                                                "default one).", show_default=False)] = None,
) -> None:
    """Forget a profile (its token is removed from the file)."""
    env = dict(os.environ)
    path = config_path(env)
    config = load(path)
    name = profile or chosen_name(config, None, env)
    if name not in config.profiles:
        raise Failure(f"no profile named {name!r}", exits.NOT_FOUND)
    save(path, remove(config, name))
    Output().note(f"Forgot profile {name!r}.")


def _row(profile: Profile, default: str) -> dict[str, Any]:
    return {"name": profile.name, "default": profile.name == default, "url": profile.url,
            "from": profile.from_email, "events_url": profile.events_base, "token": "set" if profile.token else
            "missing", "from_environment": sorted(profile.from_env)}


@profile_app.command("list")
@handled
def list_profiles(as_json: options.Json = False) -> None:
    """The saved profiles and what the environment overrides (tokens are never shown)."""
    env = dict(os.environ)
    config = load(config_path(env))
    current = chosen_name(config, None, env)  # listed even when only the environment defines it
    rows = [_row(resolve(config, name if name in config.profiles else None, env), current)
            for name in sorted(set(config.profiles) | {current})]
    out = Output(as_json)
    if as_json:
        out.json(rows)
        return
    out.table(rows, [Column("name", "Profile", lambda r: r["name"] + (" (default)" if r["default"] else "")),
                     Column("url", "URL", lambda r: r["url"]), Column("from", "From", lambda r: r["from"]),
                     Column("token", "Token", lambda r: r["token"]),
                     Column("env", "From environment", lambda r: r["from_environment"])])
    out.note(f"config file: {config_path(env)}")


@profile_app.command("use")
@handled
def use(name: Annotated[str, typer.Argument(help="The profile to make the default.")]) -> None:
    """Make a saved profile the default."""
    env = dict(os.environ)
    path = config_path(env)
    config = load(path)
    if name not in config.profiles:
        raise Failure(f"no profile named {name!r}", exits.NOT_FOUND, f"create it with: tocsin login --profile {name}")
    config.default = name
    save(path, config)
    Output().note(f"Default profile: {name}")
