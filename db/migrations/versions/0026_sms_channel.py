"""sms channel: inbound texts by MessageSid, outbound parts by Twilio sid

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-04

Twilio's webhook signature has no timestamp, so a captured request can be replayed at will:
`sms_inbound` keeps each MessageSid once (and which of our numbers it reached, the number a
reply goes out from). `sms_outbound` holds each Twilio message of a reply by its sid, so a
retried send skips the parts Twilio already took and a status callback finds its message.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_inbound",
        sa.Column("message_sid", sa.String(64), primary_key=True),
        sa.Column("account_sid", sa.String(64), nullable=False),
        sa.Column("from_number", sa.String(32), nullable=False),
        sa.Column("to_number", sa.String(32), nullable=False),
        sa.Column("ticket_id", UUID(as_uuid=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.create_index("ix_sms_inbound_ticket", "sms_inbound", ["ticket_id", "received_at"])
    op.create_table(
        "sms_outbound",
        sa.Column("message_uuid", UUID(as_uuid=True), primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("twilio_sid", sa.String(64), nullable=False, unique=True),
        sa.Column("to_number", sa.String(32), nullable=False),
        sa.Column("from_number", sa.String(64), nullable=True),
        sa.Column("encoding", sa.String(8), nullable=False),
        sa.Column("segments", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.Integer, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("sms_outbound")
    op.drop_index("ix_sms_inbound_ticket", table_name="sms_inbound")
    op.drop_table("sms_inbound")
