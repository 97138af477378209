"""maintenance: maintenance windows and their services

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _utc() -> tocsin.db.base.UTCDateTime:
    return tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('maintenance_windows',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('sequence_number', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('start_time', _utc(), nullable=False),
    sa.Column('end_time', _utc(), nullable=False),
    sa.Column('created_by_id', sa.String(length=16), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.Column('deleted_at', _utc(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_maintenance_windows_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_windows')),
    sa.UniqueConstraint('sequence_number', name=op.f('uq_maintenance_windows_sequence_number'))
    )
    op.create_index('ix_maintenance_windows_end_time', 'maintenance_windows', ['end_time'], unique=False)

    op.create_table('maintenance_window_services',
    sa.Column('window_id', sa.String(length=16), nullable=False),
    sa.Column('service_id', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['window_id'], ['maintenance_windows.id'], name=op.f('fk_maintenance_window_services_window_id_maintenance_windows')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_maintenance_window_services_service_id_services')),
    sa.PrimaryKeyConstraint('window_id', 'service_id', name=op.f('pk_maintenance_window_services'))
    )
    op.create_index('ix_maintenance_window_services_service_id', 'maintenance_window_services',
                    ['service_id', 'window_id'], unique=False)

    op.create_table('maintenance_suppressed_events',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('window_id', sa.String(length=16), nullable=False),
    sa.Column('service_id', sa.String(length=16), nullable=False),
    sa.Column('integration_id', sa.String(length=16), nullable=False),
    sa.Column('dedup_key', sa.String(length=255), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('severity', sa.String(length=16), nullable=True),
    sa.Column('payload', _json(), nullable=False),
    sa.Column('received_at', _utc(), nullable=False),
    sa.Column('suppressed_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['window_id'], ['maintenance_windows.id'], name=op.f('fk_maintenance_suppressed_events_window_id_maintenance_windows')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_suppressed_events'))
    )
    op.create_index('ix_maintenance_suppressed_events_window_id', 'maintenance_suppressed_events',
                    ['window_id', 'received_at'], unique=False)
    # The window counter's row exists up front, so two first windows created at once on
    # PostgreSQL both find it to lock instead of racing to insert it.
    op.execute("INSERT INTO sequences (name, value) VALUES ('maintenance_window_number', 0)")


def downgrade() -> None:
    op.execute("DELETE FROM sequences WHERE name = 'maintenance_window_number'")
    op.drop_index('ix_maintenance_suppressed_events_window_id', table_name='maintenance_suppressed_events')
    op.drop_table('maintenance_suppressed_events')
    op.drop_index('ix_maintenance_window_services_service_id', table_name='maintenance_window_services')
    op.drop_table('maintenance_window_services')
    op.drop_index('ix_maintenance_windows_end_time', table_name='maintenance_windows')
    op.drop_table('maintenance_windows')
