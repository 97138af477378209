"""engine: escalations frozen onto incidents, incident timers, durable notifications

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 22:30:00

Every pending action of the paging engine is a row with a due time (issue 9): the incident's
frozen escalation path and where it stands, one timer per pending action kind (PagerDuty's
``pending_actions``), every send to a person before it is attempted, the round-robin positions
of rules that ask for one, the handoff step's cursor, and the instance's own secrets.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _utc() -> tocsin.db.base.UTCDateTime:
    return tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    # Plain ALTERs (SQLite >= 3.35 drops columns itself): a batch copy of the table would trip
    # the foreign keys that point at it.
    op.add_column('escalation_rules', sa.Column('assignment_strategy', sa.String(length=24), nullable=False,
                                                server_default='assign_to_everyone'))

    op.create_table('incident_escalations',
    sa.Column('incident_id', sa.String(length=16), nullable=False),
    sa.Column('policy_id', sa.String(length=16), nullable=True),
    sa.Column('path', _json(), nullable=False),
    sa.Column('loop', sa.Integer(), nullable=False),
    sa.Column('exhausted', sa.Boolean(), nullable=False),
    sa.Column('level_started_at', _utc(), nullable=False),
    sa.Column('opened_at', _utc(), nullable=False),
    sa.Column('renotify_at', _utc(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_escalations_incident_id_incidents')),
    sa.PrimaryKeyConstraint('incident_id', name=op.f('pk_incident_escalations'))
    )

    op.create_table('incident_timers',
    sa.Column('incident_id', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('due_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_timers_incident_id_incidents')),
    sa.PrimaryKeyConstraint('incident_id', 'kind', name=op.f('pk_incident_timers'))
    )
    op.create_index('ix_incident_timers_kind_due_at', 'incident_timers', ['kind', 'due_at'], unique=False)

    op.create_table('round_robin_positions',
    sa.Column('rule_id', sa.String(length=16), nullable=False),
    sa.Column('next_index', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.PrimaryKeyConstraint('rule_id', name=op.f('pk_round_robin_positions'))
    )

    op.create_table('engine_cursors',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_engine_cursors'))
    )

    op.create_table('notifications',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('incident_id', sa.String(length=16), nullable=True),
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('contact_method_id', sa.String(length=16), nullable=True),
    sa.Column('rule_id', sa.String(length=16), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=True),
    sa.Column('detail', _json(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_at', _utc(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('provider_response', _json(), nullable=True),
    sa.Column('sent_at', _utc(), nullable=True),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('key', name=op.f('uq_notifications_key'))
    )
    op.create_index('ix_notifications_status_due_at', 'notifications', ['status', 'due_at'], unique=False)
    op.create_index('ix_notifications_incident_id', 'notifications', ['incident_id'], unique=False)
    op.create_index('ix_notifications_user_id_created_at', 'notifications', ['user_id', 'created_at'], unique=False)
    op.create_index('ix_notifications_created_at', 'notifications', ['created_at'], unique=False)

    op.create_table('instance_secrets',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_instance_secrets'))
    )


def downgrade() -> None:
    op.drop_table('instance_secrets')
    for index in ('ix_notifications_created_at', 'ix_notifications_user_id_created_at',
                  'ix_notifications_incident_id', 'ix_notifications_status_due_at'):
        op.drop_index(index, table_name='notifications')
    op.drop_table('notifications')
    op.drop_table('engine_cursors')
    op.drop_table('round_robin_positions')
    op.drop_index('ix_incident_timers_kind_due_at', table_name='incident_timers')
    op.drop_table('incident_timers')
    op.drop_table('incident_escalations')
    op.drop_column('escalation_rules', 'assignment_strategy')
