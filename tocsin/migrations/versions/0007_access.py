"""access: OAuth clients and tokens, user API keys' details

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401
from sqlalchemy.dialects import postgresql  # noqa: F401

import tocsin.db.base  # noqa: F401

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled in by the owner of this revision


def downgrade() -> None:
    pass
