"""customer view: what a customer token sees moves only with what it can see

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22

- tickets.public_updated_at: the last change a customer can see (creation, a public message,
  a status change, a merge bringing messages in), the `updated_at` of a customer's body.
- ticket_messages.public_seq: a public message's number among its ticket's public messages
  (1, 2, 3, ...), what a customer reads as `seq` and pages by; NULL for internal notes.

Both are written by the projection from now on; existing rows are backfilled here from the
messages and the audit.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("public_updated_at", sa.DateTime(timezone=True),
                                       nullable=True))
    op.execute("""
        UPDATE tickets t SET public_updated_at = GREATEST(
            t.created_at,
            (SELECT max(m.created_at) FROM ticket_messages m
              WHERE m.ticket_id = t.id AND m.visibility = 'public'),
            (SELECT max(a.created_at) FROM ticket_audit a
              WHERE a.ticket_id = t.id AND (a.from_status IS DISTINCT FROM a.to_status
                                           OR a.action IN ('created', 'merged_in'))))
    """)
    op.alter_column("tickets", "public_updated_at", nullable=False)
    op.add_column("ticket_messages", sa.Column("public_seq", sa.Integer(), nullable=True))
    op.execute("""
        UPDATE ticket_messages m SET public_seq = n.public_seq
        FROM (SELECT id, row_number() OVER (PARTITION BY ticket_id ORDER BY seq) AS public_seq
                FROM ticket_messages WHERE visibility = 'public') n
        WHERE m.id = n.id
    """)


def downgrade() -> None:
    op.drop_column("ticket_messages", "public_seq")
    op.drop_column("tickets", "public_updated_at")
