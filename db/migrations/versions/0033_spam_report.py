"""spam report: tickets marked spam, found without reading the whole audit

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04

/api/v1/reports/spam counts the tickets moved to `spam` in a period from their audit rows;
the partial index holds only those rows (one per ticket at most).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ticket_audit_spam", "ticket_audit", ["created_at"],
                    postgresql_where=sa.text("to_status = 'spam'"))


def downgrade() -> None:
    op.drop_index("ix_ticket_audit_spam", table_name="ticket_audit")
