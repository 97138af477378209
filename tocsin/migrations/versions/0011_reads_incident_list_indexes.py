"""reads: indexes for the incident list's filters and sorts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 21:00:00

``GET /incidents`` always filters on a ``created_at`` window and sorts, by default, on
``created_at``; the UI adds one of statuses[], service_ids[] or team_ids[] (which becomes the
teams' escalation policies). Each new index leads with the filtered column and ends with
``created_at``, so the newest matching rows are read in order and the page stops after ``limit``
of them, however rare the match (open incidents among many resolved ones):

- (status, created_at): the open list (statuses[]=triggered[&acknowledged]).
- (service_id, created_at): replaces (service_id, status), which nothing filtered on without
  a sort and which made SQLite sort every incident of a busy service (174 ms for 50k).
- (escalation_policy_id, created_at): team_ids[] (there was no index at all).

Each costs one B-tree insert per new incident on the ingest path (net +2 indexes on incidents);
the status entry also moves when an incident is acknowledged or resolved. sort_by=resolved_at
and sort_by=urgency still sort the window (40-50 ms over 100k on SQLite): an index on
resolved_at was tried and SQLite, which has no statistics, kept the created_at index anyway.
"""
from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_incidents_status_created_at', 'incidents', ['status', 'created_at'], unique=False)
    op.create_index('ix_incidents_service_created_at', 'incidents', ['service_id', 'created_at'], unique=False)
    op.create_index('ix_incidents_policy_created_at', 'incidents', ['escalation_policy_id', 'created_at'],
                    unique=False)
    op.drop_index('ix_incidents_service_status', table_name='incidents')


def downgrade() -> None:
    op.create_index('ix_incidents_service_status', 'incidents', ['service_id', 'status'], unique=False)
    op.drop_index('ix_incidents_policy_created_at', table_name='incidents')
    op.drop_index('ix_incidents_service_created_at', table_name='incidents')
    op.drop_index('ix_incidents_status_created_at', table_name='incidents')
