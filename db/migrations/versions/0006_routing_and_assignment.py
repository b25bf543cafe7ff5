"""routing rules, push and pull assignment, out of office

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21

Ordered routing rules (conditions and actions as JSON, evaluated in domain/routing.py); what
push assignment needs to know of agents (shift calendar, generalist, out of office with a
delegate) and teams (least-loaded or round robin, overflow timeouts); the skills a ticket
requires; the kind of every assignment row; and short-lived claims of the pull queue.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def _jsonb(name: str) -> sa.Column:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()),
                     server_default=sa.text("'{}'::jsonb"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        _jsonb("conditions"),
        _jsonb("actions"),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_routing_rules_name"),
    )
    op.create_index("ix_routing_rules_position", "routing_rules", ["position"])
    op.add_column("agents", sa.Column("shift_calendar", sa.String(64), nullable=True))
    op.add_column("agents", sa.Column("generalist", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.add_column("agents", sa.Column("out_of_office_start", sa.DateTime(timezone=True),
                                      nullable=True))
    op.add_column("agents", sa.Column("out_of_office_end", sa.DateTime(timezone=True),
                                      nullable=True))
    op.add_column("agents", sa.Column("out_of_office_delegate_id", sa.UUID(), nullable=True))
    op.add_column("teams", sa.Column("assignment_mode", sa.String(16),
                                     server_default="manual", nullable=False))
    op.add_column("teams", _jsonb("overflow_seconds"))
    op.add_column("tickets", sa.Column("required_skills", postgresql.ARRAY(sa.Text()),
                                       server_default="{}", nullable=False))
    op.add_column("assignments", sa.Column("kind", sa.String(24), nullable=True))
    op.create_table(
        "ticket_claims",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        _now("claimed_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )


def downgrade() -> None:
    op.drop_table("ticket_claims")
    op.drop_column("assignments", "kind")
    op.drop_column("tickets", "required_skills")
    for column in ("overflow_seconds", "assignment_mode"):
        op.drop_column("teams", column)
    for column in ("out_of_office_delegate_id", "out_of_office_end", "out_of_office_start",
                   "generalist", "shift_calendar"):
        op.drop_column("agents", column)
    op.drop_index("ix_routing_rules_position", table_name="routing_rules")
    op.drop_table("routing_rules")
