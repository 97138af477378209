"""schedule feeds: secret iCal feed tokens, schedule teams

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 20:00:00

``calendar_feeds`` holds the feed tokens; ``schedule_layers.time_zone`` records the zone each
layer version is read in, so changing a schedule's zone never rewrites its past;
``schedule_teams`` links schedules to the teams they belong to.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _utc() -> tocsin.db.base.UTCDateTime:
    return tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('calendar_feeds',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('schedule_id', sa.String(length=16), nullable=True),
    sa.Column('user_id', sa.String(length=16), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('rotated_at', _utc(), nullable=True),
    sa.CheckConstraint('(schedule_id IS NULL) <> (user_id IS NULL)', name=op.f('ck_calendar_feeds_one_subject')),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_calendar_feeds_schedule_id_schedules')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('schedule_id', name=op.f('uq_calendar_feeds_schedule_id')),
    sa.UniqueConstraint('user_id', name=op.f('uq_calendar_feeds_user_id'))
    )
    op.create_table('schedule_teams',
    sa.Column('schedule_id', sa.String(length=16), nullable=False),
    sa.Column('team_id', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_schedule_teams_schedule_id_schedules')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_schedule_teams_team_id_teams')),
    sa.PrimaryKeyConstraint('schedule_id', 'team_id', name=op.f('pk_schedule_teams'))
    )
    op.create_index('ix_schedule_teams_team_id', 'schedule_teams', ['team_id'], unique=False)
    with op.batch_alter_table('schedule_layers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))
    # Existing versions were rendered in their schedule's zone; record it. The stored name may be
    # an ActiveSupport name: the application maps it to IANA when reading.
    op.execute(
        'UPDATE schedule_layers SET time_zone = '
        '(SELECT schedules.time_zone FROM schedules WHERE schedules.id = schedule_layers.schedule_id)'
    )


def downgrade() -> None:
    op.drop_index('ix_schedule_teams_team_id', table_name='schedule_teams')
    op.drop_table('schedule_teams')
    with op.batch_alter_table('schedule_layers', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
    op.drop_table('calendar_feeds')
