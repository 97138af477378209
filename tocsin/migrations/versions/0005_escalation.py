"""escalation: escalation policies, rules, targets, policy teams, services' policy

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql  # noqa: F401

import tocsin.db.base

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _utc() -> tocsin.db.base.UTCDateTime:
    return tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('escalation_policies',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('num_loops', sa.Integer(), nullable=False),
    sa.Column('on_call_handoff_notifications', sa.String(length=32), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.Column('deleted_at', _utc(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_policies'))
    )
    op.create_table('escalation_rules',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('policy_id', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('escalation_delay_in_minutes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['escalation_policies.id'], name=op.f('fk_escalation_rules_policy_id_escalation_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_rules'))
    )
    op.create_index('ix_escalation_rules_policy_id', 'escalation_rules', ['policy_id', 'position'], unique=False)

    op.create_table('escalation_targets',
    sa.Column('rule_id', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=True),
    sa.Column('schedule_id', sa.String(length=16), nullable=True),
    sa.CheckConstraint('(user_id IS NULL) <> (schedule_id IS NULL)', name=op.f('ck_escalation_targets_one_target')),
    sa.ForeignKeyConstraint(['rule_id'], ['escalation_rules.id'], name=op.f('fk_escalation_targets_rule_id_escalation_rules')),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_escalation_targets_schedule_id_schedules')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_escalation_targets_user_id_users')),
    sa.PrimaryKeyConstraint('rule_id', 'position', name=op.f('pk_escalation_targets'))
    )
    op.create_index('ix_escalation_targets_user_id', 'escalation_targets', ['user_id'], unique=False)
    op.create_index('ix_escalation_targets_schedule_id', 'escalation_targets', ['schedule_id'], unique=False)

    op.create_table('escalation_policy_teams',
    sa.Column('policy_id', sa.String(length=16), nullable=False),
    sa.Column('team_id', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['escalation_policies.id'], name=op.f('fk_escalation_policy_teams_policy_id_escalation_policies')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_escalation_policy_teams_team_id_teams')),
    sa.PrimaryKeyConstraint('policy_id', 'team_id', name=op.f('pk_escalation_policy_teams'))
    )
    op.create_index('ix_escalation_policy_teams_team_id', 'escalation_policy_teams', ['team_id'], unique=False)

    # Services point at their policy. Before this revision no policy existed, so any stored id is
    # dangling: clear it. The reference is checked by the services domain (not a foreign key: adding
    # one would mean rebuilding the services table on SQLite); the index serves "which services use
    # this policy" (policy JSON, delete-in-use check).
    op.execute("UPDATE services SET escalation_policy_id = NULL")
    op.create_index('ix_services_escalation_policy_id', 'services', ['escalation_policy_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_services_escalation_policy_id', table_name='services')
    op.drop_index('ix_escalation_policy_teams_team_id', table_name='escalation_policy_teams')
    op.drop_table('escalation_policy_teams')
    op.drop_index('ix_escalation_targets_schedule_id', table_name='escalation_targets')
    op.drop_index('ix_escalation_targets_user_id', table_name='escalation_targets')
    op.drop_table('escalation_targets')
    op.drop_index('ix_escalation_rules_policy_id', table_name='escalation_rules')
    op.drop_table('escalation_rules')
    op.drop_table('escalation_policies')
