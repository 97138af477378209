"""Commands run on the server's host (``tocsin api-key``, ``tocsin allowlist`` ...): one
transaction on the database the server's settings name (``TOCSIN_DATABASE_URL``), no server.

Light to import: the database code loads only when a command runs, so every other ``tocsin``
command starts fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


def run_in_transaction(work: Callable[[AsyncSession, datetime], Awaitable[T]]) -> T:
    """``work(session, now)`` in one transaction; a refusal (``TocsinError``) is printed as
    ``error: ...`` on stderr and ends the command with exit status 1."""
    from tocsin.config import Settings
    from tocsin.db.session import Database
    from tocsin.errors import TocsinError

    async def main() -> T:
        db = Database(Settings().database_url)
        try:
            async with db.transaction() as session:
                # The command line reads the system clock: it runs without a server's runtime.
                return await work(session, datetime.now(UTC))
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except TocsinError as exc:
        typer.echo(f"error: {'; '.join(exc.errors) or exc.message}", err=True)
        raise typer.Exit(1) from None
