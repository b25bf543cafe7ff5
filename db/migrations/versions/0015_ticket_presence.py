"""ticket presence: which agents have a ticket's page open, viewing or replying

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05

One row per browser tab on a ticket page, refreshed by the page's heartbeat and read by
every API process's ticket streams (web/presence.py), so agents on the same ticket see
each other whichever process serves them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_presence",
        sa.Column("ticket_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tab_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("agent_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("state IN ('viewing','replying')", name="ck_ticket_presence_state"),
    )


def downgrade() -> None:
    op.drop_table("ticket_presence")
