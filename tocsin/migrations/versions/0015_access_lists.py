"""ip_allow_lists: the account's inbound IP allow lists (REST API and/or Events API)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10 10:00:00

PagerDuty's ``ip_allow_list`` (state, cidr_entries) plus Tocsin's ``applies_to`` (issue 10,
"Network safety and allow lists"). No list: every address is admitted, as before.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    utc = tocsin.db.base.UTCDateTime(timezone=True)
    op.create_table('ip_allow_lists',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('applies_to', json, nullable=False),
    sa.Column('cidr_entries', json, nullable=False),
    sa.Column('created_at', utc, nullable=False),
    sa.Column('updated_at', utc, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ip_allow_lists'))
    )


def downgrade() -> None:
    op.drop_table('ip_allow_lists')
