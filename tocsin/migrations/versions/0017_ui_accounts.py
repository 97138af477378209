"""web UI accounts: passwords, sessions, login throttling, set-password links

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 12:00:00

Signing in to the web UI (issue 11): an Argon2 hash per user, the digest of each browser
session's secret, failed sign-ins per account and per client address (so throttling survives
restarts and is shared by every process), and single-use invitation / password-reset links.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def _utc() -> tocsin.db.base.UTCDateTime:
    return tocsin.db.base.UTCDateTime()


def upgrade() -> None:
    op.create_table('ui_passwords',
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('hash', sa.String(length=255), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ui_passwords_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_ui_passwords'))
    )
    op.create_table('ui_sessions',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('expires_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ui_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ui_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_ui_sessions_token_hash'))
    )
    op.create_index('ix_ui_sessions_user_id', 'ui_sessions', ['user_id'], unique=False)
    op.create_table('ui_login_throttle',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', _utc(), nullable=False),
    sa.Column('locked_until', _utc(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_ui_login_throttle'))
    )
    op.create_table('ui_account_links',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('expires_at', _utc(), nullable=False),
    sa.Column('used_at', _utc(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ui_account_links_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ui_account_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_ui_account_links_token_hash'))
    )
    op.create_index('ix_ui_account_links_user_id', 'ui_account_links', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ui_account_links_user_id', table_name='ui_account_links')
    op.drop_table('ui_account_links')
    op.drop_table('ui_login_throttle')
    op.drop_index('ix_ui_sessions_user_id', table_name='ui_sessions')
    op.drop_table('ui_sessions')
    op.drop_table('ui_passwords')
