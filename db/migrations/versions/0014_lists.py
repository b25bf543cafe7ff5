"""workspace lists: indexes for At risk, Breached and Unassigned by SLA due

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

The team queue's index leads with the team, so an agent of two teams (or an admin) had
its unassigned tickets, and its at-risk and breached ones, read whole and sorted: 20-35 ms
at 150,000 open tickets. These lead with the order instead and carry the team as the last
key, which the index checks itself: the first 50 in order cost about a millisecond.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OPEN = "status IN ('new','assigned','in_progress','waiting_on_customer','reopened')"


def upgrade() -> None:
    op.create_index("ix_tickets_breach_due", "tickets",
                    ["breach_state", "due_at", "priority_rank", "created_at", "id", "team_id"],
                    postgresql_where=sa.text(f"breach_state IN ('at_risk','breached') AND {OPEN}"))
    op.create_index("ix_tickets_unassigned_due", "tickets",
                    ["due_at", "priority_rank", "created_at", "id", "team_id"],
                    postgresql_where=sa.text(f"assignee_id IS NULL AND {OPEN}"))


def downgrade() -> None:
    op.drop_index("ix_tickets_unassigned_due", table_name="tickets")
    op.drop_index("ix_tickets_breach_due", table_name="tickets")
