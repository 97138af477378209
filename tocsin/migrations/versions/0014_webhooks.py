"""webhooks: outbound destinations, v3 webhook subscriptions, events, deliveries and attempts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 12:00:00

PagerDuty's v3 webhooks (issue 10): a destination Tocsin POSTs to (a webhook subscription's
settings in their own table, so other kinds of destination can share the delivery machinery),
each change rendered once as an event, one delivery per event and destination (kept across
retries, in order per stream), and every attempt.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _utc() -> tocsin.db.base.UTCDateTime:
    return tocsin.db.base.UTCDateTime(timezone=True)


def _seq() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table('outbound_destinations',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('temporarily_disabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.Column('judged_since', _utc(), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_destinations'))
    )

    op.create_table('webhook_subscriptions',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('delivery_method_id', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('events', _json(), nullable=False),
    sa.Column('filter_type', sa.String(length=32), nullable=False),
    sa.Column('filter_id', sa.String(length=16), nullable=True),
    sa.Column('custom_headers', _json(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('previous_secret', sa.Text(), nullable=True),
    sa.Column('previous_secret_until', _utc(), nullable=True),
    sa.Column('secret_rotated_at', _utc(), nullable=True),
    sa.ForeignKeyConstraint(['id'], ['outbound_destinations.id'], name=op.f('fk_webhook_subscriptions_id_outbound_destinations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions'))
    )

    op.create_table('outbound_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', _utc(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_events'))
    )

    op.create_table('outbound_deliveries',
    sa.Column('seq', _seq(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('destination_id', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', _utc(), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('finished_at', _utc(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['destination_id'], ['outbound_destinations.id'], name=op.f('fk_outbound_deliveries_destination_id_outbound_destinations')),
    sa.ForeignKeyConstraint(['event_id'], ['outbound_events.id'], name=op.f('fk_outbound_deliveries_event_id_outbound_events')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_outbound_deliveries')),
    sa.UniqueConstraint('id', name=op.f('uq_outbound_deliveries_id'))
    )
    op.create_index('ix_outbound_deliveries_pending_due', 'outbound_deliveries', ['due_at'], unique=False,
                    sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index('ix_outbound_deliveries_pending_stream', 'outbound_deliveries', ['destination_id', 'stream', 'seq'],
                    unique=False, sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index('ix_outbound_deliveries_destination_finished', 'outbound_deliveries', ['destination_id', 'finished_at'], unique=False)
    op.create_index('ix_outbound_deliveries_destination_seq', 'outbound_deliveries', ['destination_id', 'seq'], unique=False)
    op.create_index('ix_outbound_deliveries_event_id', 'outbound_deliveries', ['event_id'], unique=False)

    op.create_table('outbound_attempts',
    sa.Column('id', _seq(), autoincrement=True, nullable=False),
    sa.Column('delivery_seq', _seq(), nullable=False),
    sa.Column('attempted_at', _utc(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['delivery_seq'], ['outbound_deliveries.seq'], name=op.f('fk_outbound_attempts_delivery_seq_outbound_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_attempts'))
    )
    op.create_index('ix_outbound_attempts_delivery_seq', 'outbound_attempts', ['delivery_seq', 'attempted_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbound_attempts_delivery_seq', table_name='outbound_attempts')
    op.drop_table('outbound_attempts')
    for index in ('ix_outbound_deliveries_event_id', 'ix_outbound_deliveries_destination_seq',
                  'ix_outbound_deliveries_destination_finished', 'ix_outbound_deliveries_pending_stream',
                  'ix_outbound_deliveries_pending_due'):
        op.drop_index(index, table_name='outbound_deliveries')
    op.drop_table('outbound_deliveries')
    op.drop_table('outbound_events')
    op.drop_table('webhook_subscriptions')
    op.drop_table('outbound_destinations')
