"""Alembic environment: always given a connection by ``tocsin.db.migrate``."""

from __future__ import annotations

from alembic import context

from tocsin.migrations.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations through `tocsin init` (tocsin.db.migrate), not the alembic CLI")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
