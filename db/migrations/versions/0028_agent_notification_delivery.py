"""agent notifications by email and Slack: preferences, per-channel delivery state

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04

Notices (the `notifications` rows) are delivered by email and Slack DM off the write path.
`notification_preferences` says which kinds go to which channel (a row overrides the default),
`agent_notification_settings` holds quiet hours in the agent's time zone and their Slack user
id, and `notification_deliveries` is one row per notice and channel: its state, attempts and
last error (the dead letters are the rows in state `dead`). `notifications.dispatched_at`
marks the rows already handed to delivery; the existing ones are history, never mailed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("dispatched_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE notifications SET dispatched_at = created_at")
    op.create_index("ix_notifications_undispatched", "notifications", ["created_at"],
                    postgresql_where=sa.text("dispatched_at IS NULL AND agent_id IS NOT NULL"))
    op.create_table(
        "notification_preferences",
        sa.Column("agent_id", UUID(as_uuid=True),
                  sa.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.CheckConstraint("channel IN ('email','slack')", name="ck_notification_pref_channel"),
    )
    op.create_table(
        "agent_notification_settings",
        sa.Column("agent_id", UUID(as_uuid=True),
                  sa.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("quiet_start", sa.Time),
        sa.Column("quiet_end", sa.Time),
        sa.Column("slack_user_id", sa.String(32)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("notification_id", UUID(as_uuid=True),
                  sa.ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("agent_id", UUID(as_uuid=True),
                  sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("queued_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("state IN ('pending','failed','sent','skipped','dead')",
                           name="ck_notification_delivery_state"),
    )
    op.create_index("ix_notification_deliveries_state", "notification_deliveries",
                    ["state", "updated_at"])
    # Wakes the agent's open workspace pages (web/notice_hub.py): whoever wrote the row.
    op.execute("""
        CREATE FUNCTION notify_agent_notice() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('agent_notices', NEW.agent_id::text);
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER notifications_wake_agent AFTER INSERT ON notifications
        FOR EACH ROW WHEN (NEW.agent_id IS NOT NULL) EXECUTE FUNCTION notify_agent_notice()""")
    op.create_index("ix_notification_deliveries_unqueued", "notification_deliveries",
                    ["created_at"], postgresql_where=sa.text("queued_at IS NULL"))


def downgrade() -> None:
    op.execute("DROP TRIGGER notifications_wake_agent ON notifications")
    op.execute("DROP FUNCTION notify_agent_notice()")
    op.drop_table("notification_deliveries")
    op.drop_table("agent_notification_settings")
    op.drop_table("notification_preferences")
    op.drop_index("ix_notifications_undispatched", table_name="notifications")
    op.drop_column("notifications", "dispatched_at")
