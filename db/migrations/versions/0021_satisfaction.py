"""satisfaction: the customer's rating of each resolution of a ticket (CSAT)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04

ticket_satisfaction holds every rating (one per ticket and resolution) with what the CSAT
report groups it by; the tickets row carries the latest one (the ticket body's
`satisfaction`) and how many times the ticket was resolved, as its workflow counts them.
resolution_count starts as the number of resolutions their audit shows: what their
workflows count when a worker with this code replays their histories, so that the first
resolution mail after the upgrade names the resolution the workflow expects. (A ticket that
continued-as-new before the upgrade counts only from that run: its mismatch lasts until its
next projection write, and at worst skips one resolution mail.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("tickets", sa.Column("resolution_count", sa.Integer(), nullable=False,
                                       server_default="0"))
    op.execute("""
        UPDATE tickets t SET resolution_count = r.n
        FROM (SELECT ticket_id, count(*) AS n FROM ticket_audit
              WHERE to_status = 'resolved' AND from_status IS DISTINCT FROM 'resolved'
              GROUP BY ticket_id) r
        WHERE r.ticket_id = t.id
    """)
    op.add_column("tickets", sa.Column("satisfaction_resolution", sa.Integer()))
    op.add_column("tickets", sa.Column("satisfaction_rating", sa.String(8)))
    op.add_column("tickets", sa.Column("satisfaction_comment", sa.Text()))
    op.add_column("tickets", sa.Column("satisfaction_rated_at", WHEN))
    op.create_table(
        "ticket_satisfaction",
        sa.Column("ticket_id", UUID(as_uuid=True), sa.ForeignKey("tickets.id"),
                  primary_key=True),
        sa.Column("resolution", sa.Integer(), primary_key=True),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("rated_at", WHEN, nullable=False),
        sa.Column("resolved_at", WHEN, nullable=False),
        sa.Column("team_id", UUID(as_uuid=True)),
        sa.Column("assignee_id", UUID(as_uuid=True)),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.CheckConstraint("rating IN ('good','bad')", name="ck_ticket_satisfaction_rating"),
    )
    # The report: ratings of the resolutions in a period.
    op.create_index("ix_ticket_satisfaction_resolved_at", "ticket_satisfaction",
                    ["resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_satisfaction_resolved_at", table_name="ticket_satisfaction")
    op.drop_table("ticket_satisfaction")
    for column in ("satisfaction_rated_at", "satisfaction_comment", "satisfaction_rating",
                   "satisfaction_resolution", "resolution_count"):
        op.drop_column("tickets", column)
