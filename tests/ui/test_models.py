"""Migration 0017 makes exactly the UI's ORM tables."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from tocsin.db.migrate import upgrade
from tocsin.migrations.models import metadata

MINE = {"ui_passwords", "ui_sessions", "ui_login_throttle", "ui_account_links"}


def test_migration_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        tables = set(conn.dialect.get_table_names(conn))
    engine.dispose()
    assert tables >= MINE
    assert [d for d in diffs if any(f"'{t}'" in repr(d) for t in MINE)] == []
