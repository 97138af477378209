"""service destinations: forwarding to an upstream Events API, chat incoming webhooks

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 04:00:00

Issue 10's other outbound kinds: a service's incidents forwarded to an upstream PagerDuty-compatible
Events API v2, or posted to a Slack-compatible chat webhook. Each is an ``outbound_destinations``
row (same queue, retries and disabling as webhooks) with its settings here.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('service_destinations',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('service_id', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('events', _json(), nullable=False),
    sa.Column('urgencies', _json(), nullable=True),
    sa.Column('routing_key', sa.Text(), nullable=True),
    sa.Column('acting_user_id', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['id'], ['outbound_destinations.id'],
                            name=op.f('fk_service_destinations_id_outbound_destinations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_destinations'))
    )
    op.create_index('ix_service_destinations_service_id', 'service_destinations', ['service_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_service_destinations_service_id', table_name='service_destinations')
    op.drop_table('service_destinations')
