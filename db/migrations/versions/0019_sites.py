"""sites: the company's own websites that embed the help form and the chat widget

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04

Each site names the origins that may frame the form and call the chat endpoints from a
browser, the team its chats go to and the secret its server signs visitors' addresses with.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("allowed_origins", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("team_id", UUID(as_uuid=True),
                  sa.ForeignKey("teams.id", ondelete="SET NULL")),
        sa.Column("identity_secret", sa.Text, nullable=False),
        sa.Column("require_verified_identity", sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("sites")
