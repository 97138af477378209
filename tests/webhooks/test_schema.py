"""Migration 0014 makes exactly the tables the webhooks models describe (both databases)."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from tocsin.db.engine import create_engine
from tocsin.migrations.models import metadata

MINE = ("outbound_destinations", "webhook_subscriptions", "outbound_events", "outbound_deliveries",
        "outbound_attempts")


def _diffs(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata))


def test_migration_matches_the_models(db_url: str) -> None:
    async def diffs() -> list[object]:
        engine = create_engine(db_url)  # the app's own engine factory: aiosqlite or asyncpg
        async with engine.connect() as conn:
            found = await conn.run_sync(_diffs)
        await engine.dispose()
        return found

    found = asyncio.run(diffs())
    # A table is named 'outbound_events' in a table diff and <outbound_events> in a column's or index's.
    assert [d for d in found if any(f"'{t}'" in repr(d) or f"<{t}>" in repr(d) for t in MINE)] == []
