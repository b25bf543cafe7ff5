"""dashboard counts: a covering index of every ticket of a team, for views beyond open ones

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

A saved view that does not keep to open tickets ("Breached or at risk", "Urgent unassigned")
is counted over all of the caller's teams' tickets; ix_tickets_team_board covers open ones
only, so each such count visited the team's scattered heap pages (4,620 pages, 18 ms, for a
team of 7,500 tickets). This index carries every column a view filters on: an index-only
scan (4 ms). Its cost grows with the team's closed tickets, which such a view counts too.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

COUNTED = ["status", "assignee_id", "breach_state", "priority", "channel", "tags",
           "customer_email", "created_at", "updated_at"]


def upgrade() -> None:
    op.create_index("ix_tickets_team_counts", "tickets", ["team_id"],
                    postgresql_include=COUNTED)


def downgrade() -> None:
    op.drop_index("ix_tickets_team_counts", table_name="tickets")
