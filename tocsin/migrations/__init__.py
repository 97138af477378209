"""Alembic migrations: the only way Tocsin's schema is created or changed."""
