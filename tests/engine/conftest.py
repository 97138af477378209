from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import PgDatabase
from tocsin.db.session import Database


@pytest.fixture
async def sqlite_db(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Database]:
    """A migrated, empty SQLite database of the test's own."""
    target = tmp_path / "tocsin.db"
    shutil.copy(sqlite_template, target)
    db = Database(f"sqlite:///{target}")
    yield db
    await db.dispose()


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database of each kind."""
    db = Database(db_url)
    yield db
    await db.dispose()


@pytest.fixture
def pg_empty(pg_database: PgDatabase) -> str:
    """The URL of the session's PostgreSQL database, migrated and empty."""
    pg_database.reset(pg_database.migrated)
    return pg_database.url
