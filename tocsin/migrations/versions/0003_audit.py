"""audit: audit records of configuration changes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_records',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('execution_time', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_type', sa.String(length=40), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('actor_summary', sa.String(length=200), nullable=False),
    sa.Column('method_type', sa.String(length=32), nullable=False),
    sa.Column('truncated_token', sa.String(length=8), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('remote_address', sa.String(length=64), nullable=True),
    sa.Column('root_type', sa.String(length=40), nullable=False),
    sa.Column('root_id', sa.String(length=64), nullable=False),
    sa.Column('root_summary', sa.String(length=300), nullable=False),
    sa.Column('detail_type', sa.String(length=40), nullable=True),
    sa.Column('detail_id', sa.String(length=64), nullable=True),
    sa.Column('detail_summary', sa.String(length=300), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records'))
    )
    op.create_index('ix_audit_records_time_id', 'audit_records', ['execution_time', 'id'], unique=False)
    op.create_index('ix_audit_records_root', 'audit_records', ['root_type', 'root_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_records_root', table_name='audit_records')
    op.drop_index('ix_audit_records_time_id', table_name='audit_records')
    op.drop_table('audit_records')
