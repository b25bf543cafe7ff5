"""outbound mail delivery state and attachments

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

A message mailed to the customer carries its delivery state (queued, retrying, sent, failed)
with the attempts and last error. Attachments are stored content-addressed: one blob per
distinct content (sha256), one metadata row per attachment of a message.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def upgrade() -> None:
    op.add_column("ticket_messages", sa.Column("delivery_status", sa.String(16), nullable=True))
    op.add_column("ticket_messages", sa.Column("delivery_attempts", sa.Integer(),
                                               server_default="0", nullable=False))
    op.add_column("ticket_messages", sa.Column("delivery_error", sa.Text(), nullable=True))
    op.add_column("ticket_messages", sa.Column("delivered_at", sa.DateTime(timezone=True),
                                               nullable=True))
    op.create_table(
        "attachment_blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "message_attachments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_id", sa.String(998), nullable=True),
        sa.Column("inline", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("stored", sa.Boolean(), server_default=sa.true(), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_message_attachments_position", "message_attachments",
                    ["message_id", "position"], unique=True)
    op.create_index("ix_message_attachments_ticket", "message_attachments", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("message_attachments")
    op.drop_table("attachment_blobs")
    for column in ("delivered_at", "delivery_error", "delivery_attempts", "delivery_status"):
        op.drop_column("ticket_messages", column)
