"""incidents: declared outages, the tickets linked to them, and their audit trail

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04

Each incident is its own workflow (workflows/incident.py); these tables are its projection,
written only by its activities. `incidents.version` lets a replayed projection change
nothing; the counts are the workflow's own (what a progress bar shows). `incident_tickets`
is one row per ticket ever linked (an unlink keeps the row, stamped); `incident_audit` one
row per incident transition, numbered by the workflow.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def _texts(name: str) -> sa.Column[list[str]]:
    return sa.Column(name, ARRAY(sa.Text), nullable=False, server_default="{}")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("number", sa.Integer, sa.Identity(), nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status_text", sa.Text, nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False, server_default="open"),
        _texts("tags"), _texts("keywords"), _texts("error_codes"), _texts("sender_domains"),
        sa.Column("team_id", UUID(as_uuid=True), sa.ForeignKey("teams.id")),
        sa.Column("repeat_priority", sa.String(16)),
        sa.Column("ack_message", sa.Text, nullable=False, server_default=""),
        sa.Column("resolution_message", sa.Text),
        sa.Column("created_by", UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("linked_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("acknowledged_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("resolved_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("folded_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("state IN ('open','resolving','resolved')", name="ck_incident_state"),
    )
    op.create_index("ix_incidents_state", "incidents", ["state", "created_at"])
    op.create_table(
        "incident_tickets",
        sa.Column("incident_id", UUID(as_uuid=True),
                  sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("ticket_id", UUID(as_uuid=True), sa.ForeignKey("tickets.id"),
                  primary_key=True),
        sa.Column("customer_email", sa.String(320), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        # pending, linked, unlinking, unlinked, folded, refused, resolved (incident_types.py)
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("linked_by", sa.String(320)),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unlinked_at", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("folded_into", UUID(as_uuid=True)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("source IN ('rule','agent')", name="ck_incident_ticket_source"),
    )
    # "Which incident is this ticket in?" (the ticket page asks on every render).
    op.create_index("ix_incident_tickets_ticket", "incident_tickets", ["ticket_id"])
    op.create_index("ix_incident_tickets_order", "incident_tickets",
                    ["incident_id", "linked_at", "ticket_id"])
    op.create_table(
        "incident_audit",
        sa.Column("incident_id", UUID(as_uuid=True),
                  sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(320)),
        sa.Column("ticket_id", UUID(as_uuid=True)),
        sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("incident_audit")
    op.drop_table("incident_tickets")
    op.drop_table("incidents")
