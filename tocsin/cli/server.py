"""The server-side commands: ``init``, ``serve``, ``engine``, ``run`` and the credential commands
that work on the database directly (``api-key``, ``oauth-client``, for the server host: the first
key, a lost key). They need the server's settings (``TOCSIN_DATABASE_URL`` ...), not a profile;
the REST commands live beside them in this package."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

import typer

from tocsin.allowlists.commands import app as allowlist_app
from tocsin.config import Settings
from tocsin.db.command_line import run_in_transaction
from tocsin.ui.commands import first_admin_hint

if TYPE_CHECKING:  # imported where used, so the command starts fast
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from tocsin.auth.models import ApiKey, OAuthClient


def register(app: typer.Typer) -> None:
    """Add the server commands to the ``tocsin`` app."""
    app.command()(init)
    app.command()(serve)
    app.command()(engine)
    app.command()(run)
    app.add_typer(api_key_app, name="api-key")
    app.add_typer(oauth_client_app, name="oauth-client")
    app.add_typer(allowlist_app, name="allowlist")  # tocsin allowlist show|add|remove|clear (tocsin.allowlists)
    app.command()(dev)



def init(as_json: bool = typer.Option(False, "--json", help="Print a JSON object for scripts.")) -> None:
    """Create or migrate the database; on first run create an admin, an API key and a demo service.

    The API key is printed by the first run only; later runs mint none (``tocsin api-key create``
    makes another). The integration key is printed every time: it is the demo service's routing
    key, which the REST API also shows to anyone who may read services."""
    from tocsin.bootstrap import initialise

    result = asyncio.run(initialise(Settings()))
    if as_json:
        typer.echo(json.dumps(asdict(result)))
        return
    typer.echo(f"Tocsin URL:       {result.url}")
    typer.echo(f"Admin:            {result.admin_email}")
    if result.api_key is not None:
        typer.echo(f"API key:          {result.api_key}   (shown once; stored hashed)")
    else:
        typer.echo("API key:          none issued (this database was initialised before); "
                   "create one with: tocsin api-key create")
    typer.echo(f"Demo service:     {result.service_id}")
    typer.echo(f"Integration key:  {result.integration_key}")
    typer.echo(first_admin_hint(result.admin_email))


def serve(
    no_engine: bool = typer.Option(False, "--no-engine",
                                   help="Serve the APIs only; run the paging engine elsewhere (tocsin engine)."),
) -> None:
    """Run the server (Events API and REST API) on TOCSIN_HOST:TOCSIN_PORT, with the paging engine."""
    from tocsin.api.app import create_app
    from tocsin.serving import serve as serve_with_limits

    settings = Settings()
    # The SQLite event processor runs in a thread; hand the GIL back to the event loop every
    # 0.5 ms instead of 5 ms so requests are not held up behind a processing batch.
    sys.setswitchinterval(0.0005)
    _configure_logging(settings)
    if no_engine:
        logging.getLogger(__name__).info("the paging engine is off in this process (--no-engine)")
    serve_with_limits(create_app(settings, start_engine=not no_engine), settings)


def engine() -> None:
    """Run the paging engine alone (no HTTP) until SIGINT or SIGTERM.

    Any number may run on PostgreSQL (they share the work); SQLite allows one per database, so
    there the servers must run with --no-engine."""
    from tocsin.engine.assembly import run_alone
    from tocsin.engine.lock import EngineAlreadyRunning

    settings = Settings()
    _configure_logging(settings)

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        await run_alone(settings, stopping)

    try:
        asyncio.run(main())
    except EngineAlreadyRunning as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def dev(
    db: str = typer.Option("", "--db", help="SQLite file (created and seeded if new); default: a temporary one."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8080, "--port", help="0 picks a free port (printed)."),
    clock_rate: float = typer.Option(1.0, "--clock-rate", min=0.001, help="Run Tocsin's clock this many times faster."),
    as_json: bool = typer.Option(False, "--json", help="Print the URLs and keys as one JSON line."),
    log_level: str = typer.Option("warning", "--log-level"),
) -> None:
    """A local PagerDuty stand-in for integration development: seeded, notifications captured,
    every request inspected at /dev (tocsin.testing.dev)."""
    from pathlib import Path

    from tocsin.testing.dev import DevOptions, run_dev

    run_dev(DevOptions(Path(db) if db else None, host, port, clock_rate, as_json, log_level))


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")


def run() -> None:
    """``init`` then ``serve``: what ``make run`` does."""
    init(as_json=False)
    serve(no_engine=False)  # spelled out: called directly, the parameter's default is Typer's Option object


# --- credentials: API keys and OAuth clients ------------------------------------------------

api_key_app = typer.Typer(
    help="Create, list and revoke REST API keys in the server's database (on the server host; "
         "`tocsin admin api-key` does it through the REST API).", no_args_is_help=True)
oauth_client_app = typer.Typer(
    help="Create, list and revoke OAuth clients (client credentials) in the server's database (on the server "
         "host; `tocsin admin oauth-client` does it through the REST API).", no_args_is_help=True)


@api_key_app.command("create")
def api_key_create(
    user: str = typer.Option(None, "--user", help="Email of the user the key acts as; omit for an account key."),
    read_only: bool = typer.Option(False, "--read-only", help="Reads only; every write is refused."),
    description: str = typer.Option("", "--description", help="What the key is for."),
) -> None:
    """Create a key and print its secret (shown once; stored hashed)."""
    from tocsin.auth import logic

    async def work(session: AsyncSession, now: datetime) -> tuple[ApiKey, str]:
        user_id = (await logic.live_user(session, email=user)).id if user else None
        return await logic.create_api_key(
            session, now, logic.CLI_ACTOR, key_type="user" if user_id else "account", user_id=user_id,
            read_only=read_only,
            description=description or ("tocsin api-key create" + (f" for {user}" if user else "")),
        )

    key, secret = run_in_transaction(work)
    typer.echo(f"API key {key.id} ({key.kind}{', read-only' if key.read_only else ''}): {secret}")
    typer.echo("The secret is shown once; only its hash is stored.")


@api_key_app.command("list")
def api_key_list() -> None:
    """List keys (never their secrets)."""
    from tocsin.auth import logic

    async def work(session: AsyncSession, now: datetime) -> list[ApiKey]:
        return await logic.list_api_keys(session)

    for key in run_in_transaction(work):
        state = "revoked" if key.revoked_at else "active"
        typer.echo(f"{key.id}\t{key.kind}\t{'read-only' if key.read_only else 'full'}\t{state}\t"
                   f"…{key.truncated_token or ''}\t{key.user_id or '-'}\t{key.description}")


@api_key_app.command("revoke")
def api_key_revoke(key_id: str) -> None:
    """Revoke a key (a running server honours it within 5 seconds)."""
    from tocsin.auth import logic

    async def work(session: AsyncSession, now: datetime) -> ApiKey:
        return await logic.revoke_api_key(session, key_id, now, logic.CLI_ACTOR)

    run_in_transaction(work)
    typer.echo(f"Revoked {key_id}")


@oauth_client_app.command("create")
def oauth_client_create(
    name: str = typer.Option(..., "--name", help="The application's name."),
    scope: list[str] = typer.Option(..., "--scope", help="An allowed scope (repeat), e.g. incidents.read or read."),
) -> None:
    """Create a client and print its id and secret (shown once; stored hashed)."""
    from tocsin.auth import logic

    async def work(session: AsyncSession, now: datetime) -> tuple[OAuthClient, str]:
        scopes = [s for raw in scope for s in raw.split()]
        return await logic.create_oauth_client(session, now, logic.CLI_ACTOR, name=name, scopes=scopes)

    client, secret = run_in_transaction(work)
    typer.echo(f"client_id:     {client.id}")
    typer.echo(f"client_secret: {secret}   (shown once; stored hashed)")
    typer.echo(f"scopes:        {' '.join(client.scopes)}")


@oauth_client_app.command("list")
def oauth_client_list() -> None:
    """List OAuth clients."""
    from tocsin.auth import logic

    async def work(session: AsyncSession, now: datetime) -> list[OAuthClient]:
        return await logic.list_oauth_clients(session)

    for client in run_in_transaction(work):
        state = "revoked" if client.revoked_at else "active"
        typer.echo(f"{client.id}\t{state}\t{client.name}\t{' '.join(client.scopes)}")


@oauth_client_app.command("revoke")
def oauth_client_revoke(client_id: str) -> None:
    """Revoke a client and its tokens (a running server honours it within 5 seconds)."""
    from tocsin.auth import logic

    async def work(session: AsyncSession, now: datetime) -> tuple[OAuthClient, list[str]]:
        return await logic.revoke_oauth_client(session, client_id, now, logic.CLI_ACTOR)

    run_in_transaction(work)
    typer.echo(f"Revoked {client_id}")
