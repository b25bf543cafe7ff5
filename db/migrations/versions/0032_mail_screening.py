"""mail screening: authentication and spam score per inbound mail, quarantine, sender lists

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04

`inbound_emails` records what screening found for each mail (SPF, DKIM and DMARC as JSON,
the spam score, whether spamd was asked at all, the verdict). `quarantined_mail` holds mail
screening kept out of the ticket database, one row per Message-ID (or per exact bytes),
until an agent releases or deletes it or retention drops its bytes; the row stays for the
false-positive rate. `sender_rules` are the admins' allow- and blocklist of addresses and
domains (one rule per pattern), which releases also teach.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inbound_emails", sa.Column("authentication", JSONB))
    op.add_column("inbound_emails", sa.Column("spam_score", sa.Float))
    op.add_column("inbound_emails", sa.Column("spam_checked", sa.Boolean))
    op.add_column("inbound_emails", sa.Column("screening", sa.String(32)))
    op.create_table(
        "quarantined_mail",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("dedupe_key", sa.String(998), nullable=False, unique=True),
        sa.Column("message_id", sa.String(998)),
        sa.Column("source", sa.String(320), nullable=False),
        sa.Column("from_address", sa.String(320)),
        sa.Column("envelope_from", sa.String(320)),
        sa.Column("client_ip", sa.String(64)),
        sa.Column("subject", sa.Text),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("spam_score", sa.Float),
        sa.Column("authentication", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="held"),
        sa.Column("decided_by", UUID(as_uuid=True),
                  sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("ticket_id", UUID(as_uuid=True)),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.create_index("ix_quarantined_mail_status", "quarantined_mail",
                    ["status", "received_at"])
    op.create_table(
        "sender_rules",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("pattern", sa.String(320), nullable=False, unique=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False, server_default="admin"),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", UUID(as_uuid=True),
                  sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('allow', 'block')", name="ck_sender_rules_kind"),
    )


def downgrade() -> None:
    op.drop_table("sender_rules")
    op.drop_index("ix_quarantined_mail_status", table_name="quarantined_mail")
    op.drop_table("quarantined_mail")
    for column in ("screening", "spam_checked", "spam_score", "authentication"):
        op.drop_column("inbound_emails", column)
