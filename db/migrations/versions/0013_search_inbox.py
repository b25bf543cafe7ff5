"""inbox: an index of each agent's unread notifications

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

The workspace's inbox badge counts an agent's unread notifications on every open page, every
30 s; a partial index holds only the unread rows, so the count does not grow with history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notifications_unread", "notifications", ["agent_id", "created_at"],
                    postgresql_where=sa.text("read_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_notifications_unread", table_name="notifications")
