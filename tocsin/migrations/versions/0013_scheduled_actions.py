"""services.scheduled_actions: raise a low-urgency incident's urgency when support hours start

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:00:00

PagerDuty's ``scheduled_actions`` (issue 9: the engine's clock raises urgency at the next
support-hours start). Existing services have none.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    # Plain ALTER with a server default for the existing rows (a batch copy of the table would
    # trip the foreign keys that point at it).
    op.add_column('services', sa.Column('scheduled_actions', json, nullable=False, server_default='[]'))


def downgrade() -> None:
    op.drop_column('services', 'scheduled_actions')
