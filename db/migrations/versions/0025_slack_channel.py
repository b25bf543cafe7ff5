"""slack: support channels, Events API deliveries stored once, threads bound to tickets

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04

Slack as a channel: admins name the channels whose messages open tickets; every delivery of
the Events API is stored under its `event_id` before the endpoint answers (Slack retries
and duplicates land on the same row); a ticket opened from a message is bound to the
message's thread, where its replies come from and the agents' replies go.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def _now() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                     server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "slack_channels",
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("team_id", UUID(as_uuid=True), sa.ForeignKey("teams.id", ondelete="SET NULL")),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.create_table(
        "slack_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(32)),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="received"),
        sa.Column("error", sa.Text),
        sa.Column("ticket_id", UUID(as_uuid=True)),
        sa.Column("redeliveries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("handled_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_slack_events_message", "slack_events", ["channel_id", "message_ts"])
    op.create_index("ix_slack_events_unfinished", "slack_events", ["status"],
                    postgresql_where=sa.text("status IN ('received', 'failed')"))
    op.create_table(
        "slack_threads",
        sa.Column("ticket_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=False),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        _now(),
    )
    op.create_index("ix_slack_threads_thread", "slack_threads",
                    ["channel_id", "thread_ts", "created_at"])


def downgrade() -> None:
    op.drop_table("slack_threads")
    op.drop_table("slack_events")
    op.drop_table("slack_channels")
