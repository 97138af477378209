"""people: user profile fields, contact methods, notification rules, teams and membership

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _utc() -> tocsin.db.base.UTCDateTime:
    return tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_title', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('color', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('updated_at', _utc(), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', _utc(), nullable=True))

    op.create_table('contact_methods',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('country_code', sa.Integer(), nullable=True),
    sa.Column('send_short_email', sa.Boolean(), nullable=False),
    sa.Column('device_type', sa.String(length=16), nullable=True),
    sa.Column('sounds', _json(), nullable=True),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_contact_methods_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_methods')),
    sa.UniqueConstraint('user_id', 'type', 'address', name='uq_contact_methods_user_type_address')
    )
    op.create_table('notification_rules',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('contact_method_id', sa.String(length=16), nullable=False),
    sa.Column('start_delay_in_minutes', sa.Integer(), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['contact_method_id'], ['contact_methods.id'], name=op.f('fk_notification_rules_contact_method_id_contact_methods')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_rules_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_rules'))
    )
    op.create_index('ix_notification_rules_user_id', 'notification_rules', ['user_id'], unique=False)

    op.create_table('teams',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('parent_id', sa.String(length=16), nullable=True),
    sa.Column('default_role', sa.String(length=16), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.Column('deleted_at', _utc(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['teams.id'], name=op.f('fk_teams_parent_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams'))
    )
    op.create_table('team_members',
    sa.Column('team_id', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_members_team_id_teams')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_team_members_user_id_users')),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_team_members'))
    )
    op.create_index('ix_team_members_user_id', 'team_members', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_team_members_user_id', table_name='team_members')
    op.drop_table('team_members')
    op.drop_table('teams')
    op.drop_index('ix_notification_rules_user_id', table_name='notification_rules')
    op.drop_table('notification_rules')
    op.drop_table('contact_methods')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('color')
        batch_op.drop_column('description')
        batch_op.drop_column('job_title')
