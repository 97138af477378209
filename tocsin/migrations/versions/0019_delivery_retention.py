"""delivery retention: index finished outbound deliveries by age

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 10:00:00

The retention sweep deletes finished deliveries (with their attempts and orphaned events) older
than ``TOCSIN_WEBHOOK_RETENTION_DAYS`` in batches; this index lets each batch find them without
scanning the table (the (destination_id, finished_at) index serves one destination's window only).
"""
from __future__ import annotations

from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_outbound_deliveries_finished_at', 'outbound_deliveries', ['finished_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbound_deliveries_finished_at', table_name='outbound_deliveries')
