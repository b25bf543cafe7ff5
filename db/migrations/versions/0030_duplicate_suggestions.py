"""duplicate detection: ticket fingerprints and the suggestions agents were shown

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04

`ticket_fingerprints` holds what domain/duplicates.py compares (normalized subject, sender,
error codes) with the ticket's creation time, indexed for the three lookups a ticket page
makes: same subject, same sender, a shared error code, each within a time window.
`duplicate_suggestions` is one row per pair of tickets ever suggested to an agent (the lower
id first), with its outcome: confirmed (one was merged into the other) or rejected (an agent
said "Not a duplicate", which also hides it); what the precision report counts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_fingerprints",
        sa.Column("ticket_id", UUID(as_uuid=True),
                  sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject_key", sa.Text, nullable=False),
        sa.Column("sender_key", sa.String(320)),
        sa.Column("error_codes", ARRAY(sa.Text), nullable=False, server_default="{}"),
    )
    op.create_index("ix_ticket_fingerprints_subject", "ticket_fingerprints",
                    ["subject_key", "created_at"])
    op.create_index("ix_ticket_fingerprints_sender", "ticket_fingerprints",
                    ["sender_key", "created_at"])
    op.create_index("ix_ticket_fingerprints_codes", "ticket_fingerprints", ["error_codes"],
                    postgresql_using="gin")
    op.create_table(
        "duplicate_suggestions",
        sa.Column("ticket_id", UUID(as_uuid=True),
                  sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("other_id", UUID(as_uuid=True),
                  sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("outcome", sa.String(16)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.String(320)),
        sa.CheckConstraint("ticket_id < other_id", name="ck_duplicate_suggestion_pair_order"),
        sa.CheckConstraint("outcome IN ('confirmed','rejected')",
                           name="ck_duplicate_suggestion_outcome"),
    )
    op.create_index("ix_duplicate_suggestions_other", "duplicate_suggestions", ["other_id"])
    op.create_index("ix_duplicate_suggestions_shown_at", "duplicate_suggestions", ["shown_at"])


def downgrade() -> None:
    op.drop_table("duplicate_suggestions")
    op.drop_table("ticket_fingerprints")
