"""workspace sign-in: agents' password hashes and browser sessions

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

Agents sign in to the workspace (/app) with email and password (argon2 hashes, set by an
admin or by the agent). A session is a row per signed-in browser, found by the SHA-256 of
the cookie's secret and removed with its agent.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agents", sa.Column("password_hash", sa.Text))
    op.add_column("agents", sa.Column("password_changed_at", sa.DateTime(timezone=True)))
    op.create_table(
        "web_sessions",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("agent_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(300)),
    )
    op.create_index("ix_web_sessions_agent", "web_sessions", ["agent_id"])


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_column("agents", "password_changed_at")
    op.drop_column("agents", "password_hash")
