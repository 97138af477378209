from __future__ import annotations

# ORM models of this domain go here (imported by tocsin.migrations.models).
