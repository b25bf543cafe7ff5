"""chat_conversations: a chat widget's conversation, bound to one ticket

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04

A conversation is reached by a random secret the widget keeps (stored here by its SHA-256);
its start key makes a retried start land on the same ticket; `stream_seen_at` is the widget's
last stream heartbeat, which decides whether an agent's reply is also mailed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_conversations",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("site_id", UUID(as_uuid=True),
                  sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
        sa.Column("start_key", sa.String(200), nullable=False),
        # No foreign key: the ticket's row is written by its workflow's projection.
        sa.Column("ticket_id", UUID(as_uuid=True), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("customer_email", sa.String(320), nullable=False),
        sa.Column("identity_verified", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stream_seen_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("site_id", "start_key", name="uq_chat_conversations_start"),
    )
    op.create_index("ix_chat_conversations_ticket", "chat_conversations", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("chat_conversations")
