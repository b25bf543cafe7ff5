"""silent failures made visible: team managers, P0 heartbeat minutes per SLA policy

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04

`teams.manager_id` names the agent told when an urgent ticket of the team goes silent (the
P0 heartbeat) and when the team's misroutes pile up; a deleted agent leaves the team without
one. `sla_policies.heartbeat_minutes` holds the heartbeat per priority (existing policies get
the default: 15 minutes for urgent tickets). The partial index keeps counting heartbeats on
/metrics off the whole audit table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("teams", sa.Column("manager_id", UUID(as_uuid=True),
                                     sa.ForeignKey("agents.id", ondelete="SET NULL")))
    op.add_column("sla_policies", sa.Column("heartbeat_minutes", JSONB, nullable=False,
                                            server_default=sa.text("'{\"urgent\": 15}'::jsonb")))
    op.create_index("ix_ticket_audit_p0_heartbeat", "ticket_audit", ["created_at"],
                    postgresql_where=sa.text("action = 'p0_heartbeat'"))


def downgrade() -> None:
    op.drop_index("ix_ticket_audit_p0_heartbeat", table_name="ticket_audit")
    op.drop_column("sla_policies", "heartbeat_minutes")
    op.drop_column("teams", "manager_id")
