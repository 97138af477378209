"""schedule feeds: secret iCal feed tokens, schedule teams

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401
from sqlalchemy.dialects import postgresql  # noqa: F401

import tocsin.db.base  # noqa: F401

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled in by the owner of this revision


def downgrade() -> None:
    pass
