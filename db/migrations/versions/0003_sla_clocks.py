"""sla clocks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Business-hours calendars and SLA policies become configuration; sla_targets becomes one
narrow row per ticket holding exactly what its workflow's clocks say; notifications get a
table. The priority once called `normal` is `medium`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def _json(name: str, default: str) -> sa.Column:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()),
                     server_default=sa.text(f"'{default}'::jsonb"), nullable=False)


def _at(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.execute("UPDATE tickets SET priority = 'medium' WHERE priority = 'normal'")
    _create_calendars()
    _create_sla_policies()
    _replace_sla_targets()
    for column in ("resolution_due", "first_response_due", "sla_policy"):
        op.drop_column("tickets", column)
    _create_notifications()
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])


def _create_calendars() -> None:
    op.create_table(
        "calendars",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("weekly", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("holiday_country", sa.String(8), nullable=True),
        sa.Column("holiday_subdivision", sa.String(16), nullable=True),
        _json("closed_dates", "[]"),
        _json("open_dates", "[]"),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def _create_sla_policies() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("calendar", sa.String(64), nullable=True),
        sa.Column("warning_lead_minutes", sa.Integer(), server_default="30", nullable=False),
        sa.Column("reopen_policy", sa.String(64), nullable=True),
        sa.Column("targets", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint("warning_lead_minutes >= 0", name="ck_sla_policies_warning_lead"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def _replace_sla_targets() -> None:
    # The old rows were wall-clock placeholders with no calendar behind them; the running
    # workflows rewrite their row on their next change.
    op.drop_index("ix_sla_targets_due_unmet", table_name="sla_targets",
                  postgresql_where=sa.text("met_at IS NULL"))
    op.drop_table("sla_targets")
    op.create_table(
        "sla_targets",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("calendar", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        _at("first_response_due"), _at("next_reply_due"), _at("resolution_due"),
        _at("paused_at"),
        sa.Column("pause_reason", sa.String(32), nullable=True),
        sa.Column("breach_state", sa.String(16), server_default="ok", nullable=False),
        _at("at_risk_at"), _at("breached_at"), _at("first_response_at"), _at("resolved_at"),
        _json("targets", "{}"),
        *(sa.Column(f"{kind}_{clock}_seconds", sa.Float(), nullable=True)
          for kind in ("first_response", "resolution") for clock in ("business", "wall")),
        sa.CheckConstraint("breach_state IN ('ok','at_risk','breached')",
                           name="ck_sla_targets_breach_state"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_sla_targets_breach_state", "sla_targets", ["breach_state"],
                    postgresql_where=sa.text("breach_state <> 'ok'"))


def _create_notifications() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=True),
        sa.Column("team_id", sa.UUID(), nullable=True),
        _json("detail", "{}"),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True),
                  server_default=sa.text("clock_timestamp()"), nullable=False),
        _at("read_at"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notifications_agent", "notifications", ["agent_id", "created_at"])
    op.create_index("ix_notifications_ticket", "notifications", ["ticket_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_created_at", table_name="tickets")
    op.drop_table("notifications")
    op.add_column("tickets", sa.Column("sla_policy", sa.String(64), nullable=True))
    op.add_column("tickets", _at("first_response_due"))
    op.add_column("tickets", _at("resolution_due"))
    op.execute("UPDATE tickets t SET sla_policy = s.policy, "
               "first_response_due = s.first_response_due, resolution_due = s.resolution_due "
               "FROM sla_targets s WHERE s.ticket_id = t.id")
    op.drop_table("sla_targets")
    op.create_table(
        "sla_targets",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("policy", sa.String(64), nullable=True),
        _at("due_at"), _at("met_at"),
        sa.Column("paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id", "kind"),
    )
    op.create_index("ix_sla_targets_due_unmet", "sla_targets", ["due_at"],
                    postgresql_where=sa.text("met_at IS NULL"))
    op.drop_table("sla_policies")
    op.drop_table("calendars")
    op.execute("UPDATE tickets SET priority = 'normal' WHERE priority = 'medium'")
