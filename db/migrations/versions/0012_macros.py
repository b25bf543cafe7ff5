"""macros: canned replies with placeholders and actions

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10

A macro is personal (its owner's), a team's or everyone's; personal and team macros go with
their agent or team. `actions` holds what the reply also does (domain/macros.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "macros",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("owner_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("agents.id", ondelete="CASCADE")),
        sa.Column("team_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("teams.id", ondelete="CASCADE")),
        sa.Column("actions", postgresql.JSONB, nullable=False,
                  server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("scope IN ('personal','team','everyone')", name="ck_macros_scope"),
        sa.CheckConstraint("(scope = 'personal') = (owner_id IS NOT NULL)",
                           name="ck_macros_owner"),
        sa.CheckConstraint("(scope = 'team') = (team_id IS NOT NULL)", name="ck_macros_team"),
    )
    op.create_index("ix_macros_owner", "macros", ["owner_id"])
    op.create_index("ix_macros_team", "macros", ["team_id"])


def downgrade() -> None:
    op.drop_table("macros")
