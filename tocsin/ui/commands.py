"""``tocsin user set-password EMAIL`` and ``tocsin user invite EMAIL``: web UI accounts from the
server's host, on its database (``tocsin.cli`` registers them with ``register``)."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import typer

from tocsin.config import Settings

PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="Read the password from one line of standard input.")


def _now() -> datetime:
    return datetime.now(UTC)  # the CLI runs without a runtime clock (as tocsin init does)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("New password", hide_input=True)
    again = typer.prompt("The same password again", hide_input=True)
    if first != again:
        typer.echo("error: the two passwords are not the same; nothing changed", err=True)
        raise typer.Exit(1)
    return str(first)


def set_password(email: str, password_stdin: bool = PASSWORD_STDIN) -> None:
    """Set the web UI password of the user with this email (asks twice), ending their sessions."""
    from tocsin.auth.logic import live_user
    from tocsin.db.session import Database
    from tocsin.errors import TocsinError
    from tocsin.ui import accounts

    password = _read_password(password_stdin)

    async def run() -> str:
        db = Database(Settings().database_url)
        try:
            async with db.transaction() as session:
                user = await live_user(session, email=email)
                await accounts.set_password(session, user.id, password, _now())
                return user.email
        finally:
            await db.dispose()

    try:
        address = asyncio.run(run())
    except TocsinError as exc:
        typer.echo(f"error: {'; '.join(exc.errors) or exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Password set for {address}; sign in at {Settings().base_url}/")


def invite(email: str) -> None:
    """Email the user a link to choose their web UI password (works once, for 7 days)."""
    from tocsin.auth.logic import live_user
    from tocsin.db.session import Database
    from tocsin.errors import TocsinError
    from tocsin.notifications.channels import Channels
    from tocsin.ui import mailer
    from tocsin.ui.models import INVITATION

    settings = Settings()

    async def run() -> str | None:
        db = Database(settings.database_url)
        channels = Channels.from_settings(settings, _now)
        try:
            async with db.transaction() as session:
                user = await live_user(session, email=email)
            return await mailer.send_link(db, _now, settings.base_url, channels.email,
                                          (user.id, user.email, user.name), INVITATION)
        finally:
            await channels.aclose()
            await db.dispose()

    try:
        problem = asyncio.run(run())
    except TocsinError as exc:
        typer.echo(f"error: {'; '.join(exc.errors) or exc.message}", err=True)
        raise typer.Exit(1) from None
    if problem is not None:
        typer.echo(f"error: the invitation was not sent: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Invitation sent to {email}")


def register(user_app: typer.Typer) -> None:
    user_app.command("set-password")(set_password)
    user_app.command("invite")(invite)


def first_admin_hint(email: str) -> str:
    """What ``tocsin run`` tells the first admin."""
    return (f"Web UI:           sign in at {Settings().base_url}/ as {email} once you have set a password:\n"
            f"                  tocsin user set-password {email}")
