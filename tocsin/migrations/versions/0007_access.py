"""access: OAuth clients and tokens, user API keys' details

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _utc() -> tocsin.db.base.UTCDateTime:
    return tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('truncated_token', sa.String(length=8), nullable=True))

    op.create_table('oauth_clients',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', _json(), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('revoked_at', _utc(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_clients'))
    )
    op.create_table('oauth_tokens',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=16), nullable=False),
    sa.Column('scopes', _json(), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('expires_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['oauth_clients.id'], name=op.f('fk_oauth_tokens_client_id_oauth_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_oauth_tokens_token_hash'))
    )
    op.create_index('ix_oauth_tokens_expires_at', 'oauth_tokens', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_oauth_tokens_expires_at', table_name='oauth_tokens')
    op.drop_table('oauth_tokens')
    op.drop_table('oauth_clients')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('truncated_token')
