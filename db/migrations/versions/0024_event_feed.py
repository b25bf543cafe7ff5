"""event feed: ticket_events ordered by transaction, and a cursor per consumer

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04

Consumers other than the live stream (webhooks, agent notifications) must see every event
exactly once. Ids come from a sequence, so a transaction holding id 7 can commit after one
holding id 8: a consumer that read up to 8 would never see 7. Each row therefore records its
writing transaction (`tx`), and consumers read only rows from transactions older than every
transaction still running (`pg_snapshot_xmin`), in (tx, id) order: nothing can appear behind
their cursor later.
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE ticket_events ADD COLUMN tx xid8 NOT NULL "
               "DEFAULT pg_current_xact_id()")
    op.create_index("ix_ticket_events_tx", "ticket_events", ["tx", "id"])
    # Raw SQL: SQLAlchemy has no xid8 type.
    op.execute("""
        CREATE TABLE event_feed_cursors (
            consumer varchar(60) PRIMARY KEY,
            tx xid8 NOT NULL,
            event_id bigint NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now()
        )""")


def downgrade() -> None:
    op.drop_table("event_feed_cursors")
    op.drop_index("ix_ticket_events_tx", table_name="ticket_events")
    op.drop_column("ticket_events", "tx")
