"""customer portal: one-time sign-in links, customer sessions, a customer's ticket list

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04

A customer signs in to /help/tickets by a link mailed to them. A link and a session are
found by the SHA-256 of their secret, never stored in the clear. A link is used at most once:
the UPDATE that consumes it sets used_at only where it is still NULL. The customer's list
is ordered by what they can see change (public_updated_at), so an index on that.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        # The sign-in request that mailed it: a retried mail voids its earlier links.
        sa.Column("request_id", sa.String(80), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("ticket_ref", sa.String(32)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_portal_links_request", "portal_links", ["request_id"])
    op.create_index("ix_portal_links_expires", "portal_links", ["expires_at"])
    op.create_table(
        "portal_sessions",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.create_index("ix_portal_sessions_email", "portal_sessions", ["email"])
    op.create_index("ix_tickets_customer_public", "tickets",
                    ["customer_email", "public_updated_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_tickets_customer_public", table_name="tickets")
    op.drop_table("portal_sessions")
    op.drop_table("portal_links")
