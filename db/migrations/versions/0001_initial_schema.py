"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Every table of DESIGN.md that the ticket lifecycle writes, plus the sequence behind TKT-n.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Public refs (TKT-1000, ...) come from here, claimed with the Idempotency-Key.
    op.execute("CREATE SEQUENCE ticket_ref_seq START 1000")
    op.create_table(
        "customers",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("tier", sa.String(length=32), server_default="standard", nullable=False),
        sa.Column("sla_policy_override", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "intake_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("public_ref", sa.String(length=32), nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
        sa.UniqueConstraint("public_ref"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.UUID(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_index(op.f("ix_agents_team_id"), "agents", ["team_id"], unique=False)
    op.create_table(
        "tickets",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("public_ref", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("customer_email", sa.String(length=320), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("team_id", sa.UUID(), nullable=True),
        sa.Column("assignee_id", sa.UUID(), nullable=True),
        sa.Column("tags", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopen_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("parent_ticket_id", sa.UUID(), nullable=True),
        sa.Column("merged_into", sa.UUID(), nullable=True),
        sa.Column("message_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("public_message_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("internal_note_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sla_policy", sa.String(length=64), nullable=True),
        sa.Column("first_response_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_ref"),
    )
    op.create_index(
        "ix_tickets_assignee_open",
        "tickets",
        ["assignee_id", "updated_at"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('new','assigned','in_progress','waiting_on_customer','reopened')"
        ),
    )
    op.create_index("ix_tickets_customer_email", "tickets", ["customer_email"], unique=False)
    op.create_index(
        "ix_tickets_merged_into",
        "tickets",
        ["merged_into"],
        unique=False,
        postgresql_where=sa.text("merged_into IS NOT NULL"),
    )
    op.create_index("ix_tickets_status_updated", "tickets", ["status", "updated_at"], unique=False)
    op.create_index(
        "ix_tickets_team_open",
        "tickets",
        ["team_id", "status", "created_at"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('new','assigned','in_progress','waiting_on_customer','reopened')"
        ),
    )
    op.create_table(
        "assignments",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=True),
        sa.Column("team_id", sa.UUID(), nullable=True),
        sa.Column("previous_agent_id", sa.UUID(), nullable=True),
        sa.Column("previous_team_id", sa.UUID(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("ticket_id", "seq"),
    )
    op.create_index("ix_assignments_agent", "assignments", ["agent_id", "created_at"], unique=False)
    op.create_table(
        "sla_targets",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("ticket_id", "kind"),
    )
    op.create_index(
        "ix_sla_targets_due_unmet",
        "sla_targets",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("met_at IS NULL"),
    )
    op.create_table(
        "ticket_audit",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=320), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("ticket_id", "seq"),
    )
    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("in_reply_to", sa.String(length=998), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("author_type", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.String(length=320), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index(
        "ix_ticket_messages_ticket_order",
        "ticket_messages",
        ["ticket_id", "created_at", "seq"],
        unique=False,
    )
    op.create_index(
        "uq_ticket_messages_ticket_seq", "ticket_messages", ["ticket_id", "seq"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_ticket_messages_ticket_seq", table_name="ticket_messages")
    op.drop_index("ix_ticket_messages_ticket_order", table_name="ticket_messages")
    op.drop_table("ticket_messages")
    op.drop_table("ticket_audit")
    op.drop_index(
        "ix_sla_targets_due_unmet",
        table_name="sla_targets",
        postgresql_where=sa.text("met_at IS NULL"),
    )
    op.drop_table("sla_targets")
    op.drop_index("ix_assignments_agent", table_name="assignments")
    op.drop_table("assignments")
    op.drop_index(
        "ix_tickets_team_open",
        table_name="tickets",
        postgresql_where=sa.text(
            "status IN ('new','assigned','in_progress','waiting_on_customer','reopened')"
        ),
    )
    op.drop_index("ix_tickets_status_updated", table_name="tickets")
    op.drop_index(
        "ix_tickets_merged_into",
        table_name="tickets",
        postgresql_where=sa.text("merged_into IS NOT NULL"),
    )
    op.drop_index("ix_tickets_customer_email", table_name="tickets")
    op.drop_index(
        "ix_tickets_assignee_open",
        table_name="tickets",
        postgresql_where=sa.text(
            "status IN ('new','assigned','in_progress','waiting_on_customer','reopened')"
        ),
    )
    op.drop_table("tickets")
    op.drop_index(op.f("ix_agents_team_id"), table_name="agents")
    op.drop_table("agents")
    op.drop_table("teams")
    op.drop_table("intake_keys")
    op.drop_table("customers")
    op.execute("DROP SEQUENCE ticket_ref_seq")
