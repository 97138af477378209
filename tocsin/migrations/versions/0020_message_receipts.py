"""message receipts: one receipt per accepted message, not per notification row

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 13:30:00

A storm's bundled email carries hundreds of notification rows; a receipt for each (written at the
provider's answer, deleted when the batch is recorded) was a twentieth of PostgreSQL ingest with
the engine inside. ``message_receipts`` keeps one row per message listing the rows it carried.
Receipts still waiting to be recorded (an engine died) are carried over, one message each.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    receipts = op.create_table(
        'message_receipts',
        sa.Column('id', sa.String(length=16), nullable=False),
        sa.Column('notification_ids', _json(), nullable=False),
        sa.Column('accepted_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('provider_response', _json(), nullable=True),
        sa.Column('bundle', sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    old = sa.table('notification_receipts', sa.column('notification_id', sa.String()),
                   sa.column('accepted_at', tocsin.db.base.UTCDateTime(timezone=True)),
                   sa.column('provider_response', _json()), sa.column('bundle', sa.String()))
    rows = op.get_bind().execute(sa.select(old)).mappings().all()
    if rows:
        op.bulk_insert(receipts, [{"id": r["notification_id"], "notification_ids": [r["notification_id"]],
                                   "accepted_at": r["accepted_at"], "provider_response": r["provider_response"],
                                   "bundle": r["bundle"]} for r in rows])
    op.drop_table('notification_receipts')


def downgrade() -> None:
    receipts = op.create_table(
        'notification_receipts',
        sa.Column('notification_id', sa.String(length=16), nullable=False),
        sa.Column('accepted_at', tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('provider_response', _json(), nullable=True),
        sa.Column('bundle', sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint('notification_id'),
    )
    new = sa.table('message_receipts', sa.column('notification_ids', _json()),
                   sa.column('accepted_at', tocsin.db.base.UTCDateTime(timezone=True)),
                   sa.column('provider_response', _json()), sa.column('bundle', sa.String()))
    rows = op.get_bind().execute(sa.select(new)).mappings().all()
    if rows:
        op.bulk_insert(receipts, [{"notification_id": nid, "accepted_at": r["accepted_at"],
                                   "provider_response": r["provider_response"], "bundle": r["bundle"]}
                                  for r in rows for nid in r["notification_ids"]])
    op.drop_table('message_receipts')
