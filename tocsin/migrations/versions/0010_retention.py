"""retention: index suppressed maintenance events by age

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 20:00:00

The retention sweep deletes suppressed triggers older than 90 days in small batches; this index
lets each batch find them without scanning the table. (Change events are already indexed by
``timestamp``.)
"""
from __future__ import annotations

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_maintenance_suppressed_events_suppressed_at', 'maintenance_suppressed_events',
                    ['suppressed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_maintenance_suppressed_events_suppressed_at', table_name='maintenance_suppressed_events')
