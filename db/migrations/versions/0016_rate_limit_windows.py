"""rate limit windows: request counts every API process shares

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Per-token and per-sender limits counted in PostgreSQL, so that several API processes (or
hosts) enforce one budget without a Redis. UNLOGGED: counts are rebuilt within a window and
need neither the write-ahead log's cost on every request nor to survive a crash. Only the
key is indexed, so a hit's update changes no indexed column and stays a HOT update.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_windows",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("window_index", sa.BigInteger, nullable=False),
        sa.Column("previous_count", sa.Integer, nullable=False),
        sa.Column("current_count", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("rate_limit_windows")
