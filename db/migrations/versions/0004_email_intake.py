"""email intake

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

IMAP checkpoints (UIDVALIDITY and the last UID handed to intake, per mailbox) and a log of
every inbound mail with its threading outcome and original bytes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "mailbox_checkpoints",
        sa.Column("mailbox", sa.String(320), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("mailbox"),
    )
    op.create_table(
        "inbound_emails",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=True),
        sa.Column("source", sa.String(320), nullable=False),
        sa.Column("from_address", sa.String(320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=True),
        sa.Column("defects", postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        _now("received_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inbound_emails_message_id", "inbound_emails", ["message_id"])
    op.create_index("ix_inbound_emails_outcome", "inbound_emails", ["outcome", "received_at"])


def downgrade() -> None:
    op.drop_table("inbound_emails")
    op.drop_table("mailbox_checkpoints")
