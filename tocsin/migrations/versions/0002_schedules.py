"""schedules: schedules, layer versions, layer users, overrides

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _utc() -> tocsin.db.base.UTCDateTime:
    return tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('schedules',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.Column('deleted_at', _utc(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedules'))
    )
    op.create_table('schedule_layers',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('layer_id', sa.String(length=16), nullable=False),
    sa.Column('schedule_id', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('start', _utc(), nullable=False),
    sa.Column('end', _utc(), nullable=True),
    sa.Column('rotation_virtual_start', _utc(), nullable=False),
    sa.Column('rotation_turn_length_seconds', sa.Integer(), nullable=False),
    sa.Column('restrictions', _json(), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('superseded_at', _utc(), nullable=True),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_schedule_layers_schedule_id_schedules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_layers'))
    )
    with op.batch_alter_table('schedule_layers', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_layers_schedule_id', ['schedule_id', 'layer_id'], unique=False)

    op.create_table('schedule_layer_users',
    sa.Column('layer_version_id', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['layer_version_id'], ['schedule_layers.id'], name=op.f('fk_schedule_layer_users_layer_version_id_schedule_layers')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_schedule_layer_users_user_id_users')),
    sa.PrimaryKeyConstraint('layer_version_id', 'position', name=op.f('pk_schedule_layer_users'))
    )
    op.create_table('schedule_overrides',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('schedule_id', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('start', _utc(), nullable=False),
    sa.Column('end', _utc(), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_schedule_overrides_schedule_id_schedules')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_schedule_overrides_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_overrides'))
    )
    with op.batch_alter_table('schedule_overrides', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_overrides_schedule_id', ['schedule_id', 'start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('schedule_overrides', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_overrides_schedule_id')
    op.drop_table('schedule_overrides')
    op.drop_table('schedule_layer_users')
    with op.batch_alter_table('schedule_layers', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_layers_schedule_id')
    op.drop_table('schedule_layers')
    op.drop_table('schedules')
