"""kb_suggestions.read_article_ids: the suggested articles the customer opened

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04

The help form links each suggested article to a readable page; opening one from the
suggestion is recorded here, so the knowledge-base report can tell drafts whose customer
read an answer (and left, or still opened a ticket) from those shown and ignored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kb_suggestions", sa.Column(
        "read_article_ids", ARRAY(UUID(as_uuid=True)), nullable=False, server_default="{}"))


def downgrade() -> None:
    op.drop_column("kb_suggestions", "read_article_ids")
