"""notification_receipts: a provider's acceptance, committed the moment it arrives

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 03:00:00

The notify step writes a receipt per accepted send in a transaction of its own; the batch that
records the outcome deletes it. A receipt left behind (the engine died in between) makes the next
claimer record the send rather than send it again.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    op.create_table(
        'notification_receipts',
        sa.Column('notification_id', sa.String(length=16), nullable=False),
        sa.Column('accepted_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('provider_response', json, nullable=True),
        sa.Column('bundle', sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint('notification_id'),
    )


def downgrade() -> None:
    op.drop_table('notification_receipts')
