"""incident surface: priorities, notes, assignments, acknowledgements, snooze, merge

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 20:00:00
"""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)
# PagerDuty's five default priorities; fixed ids so every installation shares them.
PRIORITIES = [
    ('PPRIOR1', 'P1', 'a8171c', 1),
    ('PPRIOR2', 'P2', 'eb6016', 2),
    ('PPRIOR3', 'P3', 'f9b406', 3),
    ('PPRIOR4', 'P4', '555555', 4),
    ('PPRIOR5', 'P5', 'dddddd', 5),
]


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.add_column(sa.Column('snoozed_until', tocsin.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('details', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('conference_bridge', JSON, nullable=True))

    op.create_table('incident_assignments',
    sa.Column('incident_id', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_assignments_incident_id_incidents')),
    sa.PrimaryKeyConstraint('incident_id', 'user_id', name=op.f('pk_incident_assignments'))
    )
    op.create_index('ix_incident_assignments_user_id', 'incident_assignments', ['user_id'], unique=False)

    op.create_table('incident_notes',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('incident_id', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('created_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_notes_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_notes'))
    )
    op.create_index('ix_incident_notes_incident_id', 'incident_notes', ['incident_id', 'created_at'], unique=False)

    priorities = op.create_table('priorities',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('color', sa.String(length=16), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_priorities'))
    )
    op.bulk_insert(priorities, [
        {'id': id_, 'name': name, 'description': None, 'color': color, 'position': position,
         'created_at': SEEDED_AT, 'updated_at': SEEDED_AT}
        for id_, name, color, position in PRIORITIES
    ])


def downgrade() -> None:
    op.drop_table('priorities')
    op.drop_index('ix_incident_notes_incident_id', table_name='incident_notes')
    op.drop_table('incident_notes')
    op.drop_index('ix_incident_assignments_user_id', table_name='incident_assignments')
    op.drop_table('incident_assignments')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('conference_bridge')
        batch_op.drop_column('details')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('snoozed_until')
        batch_op.drop_column('escalation_level')
