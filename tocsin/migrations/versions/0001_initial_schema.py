"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 17:14:01.468504
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('change_events',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('integration_id', sa.String(length=16), nullable=False),
    sa.Column('service_id', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('timestamp', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom_details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('links', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_events'))
    )
    with op.batch_alter_table('change_events', schema=None) as batch_op:
        batch_op.create_index('ix_change_events_timestamp', ['timestamp'], unique=False)

    op.create_table('event_inbox',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('integration_id', sa.String(length=16), nullable=False),
    sa.Column('received_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('event', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_event_inbox'))
    )
    op.create_table('sequences',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sequences'))
    )
    op.create_table('services',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('auto_resolve_timeout', sa.Integer(), nullable=True),
    sa.Column('acknowledgement_timeout', sa.Integer(), nullable=True),
    sa.Column('incident_urgency_rule', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('support_hours', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('escalation_policy_id', sa.String(length=16), nullable=True),
    sa.Column('created_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services'))
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('created_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=True),
    sa.Column('read_only', sa.Boolean(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('created_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_keys_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_keys_token_hash'))
    )
    op.create_table('incidents',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('service_id', sa.String(length=16), nullable=False),
    sa.Column('incident_key', sa.String(length=255), nullable=True),
    sa.Column('escalation_policy_id', sa.String(length=16), nullable=True),
    sa.Column('priority_id', sa.String(length=16), nullable=True),
    sa.Column('acknowledgements', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('assignments', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_status_change_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_status_change_by', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('resolved_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_incidents_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('number', name=op.f('uq_incidents_number'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_incidents_incident_key', ['incident_key'], unique=False)
        batch_op.create_index('ix_incidents_service_status', ['service_id', 'status'], unique=False)

    op.create_table('integrations',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('service_id', sa.String(length=16), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('integration_key', sa.String(length=32), nullable=False),
    sa.Column('created_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_integrations_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrations')),
    sa.UniqueConstraint('integration_key', name=op.f('uq_integrations_integration_key'))
    )
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.create_index('ix_integrations_service_id', ['service_id'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('incident_id', sa.String(length=16), nullable=False),
    sa.Column('integration_id', sa.String(length=16), nullable=False),
    sa.Column('service_id', sa.String(length=16), nullable=False),
    sa.Column('dedup_key', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_alerts_incident_id_incidents')),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_alerts_integration_id_integrations')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_alerts_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_incident_id', ['incident_id'], unique=False)
        batch_op.create_index('uq_alerts_open_dedup_key', ['integration_id', 'dedup_key'], unique=True, sqlite_where=sa.text("status != 'resolved'"), postgresql_where=sa.text("status != 'resolved'"))

    op.create_table('log_entries',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('type', sa.String(length=48), nullable=False),
    sa.Column('incident_id', sa.String(length=16), nullable=False),
    sa.Column('alert_id', sa.String(length=16), nullable=True),
    sa.Column('service_id', sa.String(length=16), nullable=False),
    sa.Column('created_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('agent', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('channel', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_log_entries_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_entries'))
    )
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.create_index('ix_log_entries_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_log_entries_incident_id', ['incident_id', 'created_at'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_log_entries_incident_id')
        batch_op.drop_index('ix_log_entries_created_at')

    op.drop_table('log_entries')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('uq_alerts_open_dedup_key', sqlite_where=sa.text("status != 'resolved'"), postgresql_where=sa.text("status != 'resolved'"))
        batch_op.drop_index('ix_alerts_incident_id')

    op.drop_table('alerts')
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.drop_index('ix_integrations_service_id')

    op.drop_table('integrations')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_service_status')
        batch_op.drop_index('ix_incidents_incident_key')
        batch_op.drop_index('ix_incidents_created_at')

    op.drop_table('incidents')
    op.drop_table('api_keys')
    op.drop_table('users')
    op.drop_table('services')
    op.drop_table('sequences')
    op.drop_table('event_inbox')
    with op.batch_alter_table('change_events', schema=None) as batch_op:
        batch_op.drop_index('ix_change_events_timestamp')

    op.drop_table('change_events')
    
