"""people: user profile fields, contact methods, notification rules, teams and membership

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401
from sqlalchemy.dialects import postgresql  # noqa: F401

import tocsin.db.base  # noqa: F401

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled in by the owner of this revision


def downgrade() -> None:
    pass
