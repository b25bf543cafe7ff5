"""identity and access

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Teams, agents and customers become full records (agents may belong to several teams),
API tokens are stored hashed, and directory changes get their own audit.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def upgrade() -> None:
    _extend_teams()
    _extend_agents()
    op.add_column("customers", sa.Column("organization", sa.String(200), nullable=True))
    op.add_column("customers", _now("updated_at"))
    op.create_index("ix_customers_organization", "customers", ["organization"])
    _create_tokens()
    _create_admin_audit()


def _extend_teams() -> None:
    op.add_column("teams", sa.Column("calendar", sa.String(64), nullable=True))
    op.add_column("teams", sa.Column("sla_policy", sa.String(64), nullable=True))
    op.add_column("teams", sa.Column("senior_pool_team_id", sa.UUID(), nullable=True))
    op.add_column("teams", _now("updated_at"))
    op.create_foreign_key("teams_senior_pool_team_id_fkey", "teams", "teams",
                          ["senior_pool_team_id"], ["id"])


def _extend_agents() -> None:
    op.add_column("agents", sa.Column("role", sa.String(16), server_default="agent",
                                      nullable=False))
    op.add_column("agents", sa.Column("skills", postgresql.ARRAY(sa.Text()),
                                      server_default="{}", nullable=False))
    op.add_column("agents", sa.Column("capacity", sa.Integer(), server_default="10",
                                      nullable=False))
    op.add_column("agents", sa.Column("senior", sa.Boolean(), server_default=sa.text("false"),
                                      nullable=False))
    op.add_column("agents", _now("updated_at"))
    op.create_check_constraint("ck_agents_role", "agents", "role IN ('agent','lead','admin')")
    op.create_check_constraint("ck_agents_capacity", "agents", "capacity >= 0")
    op.create_table(
        "agent_teams",
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.PrimaryKeyConstraint("agent_id", "team_id"),
    )
    op.create_index("ix_agent_teams_team_id", "agent_teams", ["team_id"])
    # An agent's one team becomes its first membership.
    op.execute("INSERT INTO agent_teams (agent_id, team_id) "
               "SELECT id, team_id FROM agents WHERE team_id IS NOT NULL")
    op.drop_index("ix_agents_team_id", table_name="agents")
    op.drop_column("agents", "team_id")


def _create_tokens() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=True),
        sa.Column("ticket_id", sa.UUID(), nullable=True),
        sa.Column("customer_email", sa.String(320), nullable=True),
        sa.Column("created_by", sa.String(320), nullable=True),
        _now("created_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('admin','agent','integration','customer')",
                           name="ck_api_tokens_kind"),
        sa.CheckConstraint("(kind = 'agent') = (agent_id IS NOT NULL)",
                           name="ck_api_tokens_agent_bound"),
        sa.CheckConstraint("(kind = 'customer') = (ticket_id IS NOT NULL)",
                           name="ck_api_tokens_ticket_bound"),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_tokens_agent_id", "api_tokens", ["agent_id"])
    op.create_index("ix_api_tokens_ticket_id", "api_tokens", ["ticket_id"])


def _create_admin_audit() -> None:
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(320), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'{}'::jsonb"), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_admin_audit_entity", "admin_audit", ["entity", "entity_id", "id"])


def downgrade() -> None:
    op.drop_table("admin_audit")
    op.drop_table("api_tokens")
    op.add_column("agents", sa.Column("team_id", sa.UUID(), nullable=True))
    op.create_foreign_key("agents_team_id_fkey", "agents", "teams", ["team_id"], ["id"])
    op.create_index("ix_agents_team_id", "agents", ["team_id"])
    # Back to one team per agent: keep any one membership.
    op.execute("UPDATE agents SET team_id = m.team_id FROM "
               "(SELECT DISTINCT ON (agent_id) agent_id, team_id FROM agent_teams "
               "ORDER BY agent_id, team_id) m WHERE m.agent_id = agents.id")
    op.drop_table("agent_teams")
    op.drop_constraint("ck_agents_capacity", "agents")
    op.drop_constraint("ck_agents_role", "agents")
    for column in ("updated_at", "senior", "capacity", "skills", "role"):
        op.drop_column("agents", column)
    op.drop_index("ix_customers_organization", table_name="customers")
    for column in ("updated_at", "organization"):
        op.drop_column("customers", column)
    op.drop_constraint("teams_senior_pool_team_id_fkey", "teams")
    for column in ("updated_at", "senior_pool_team_id", "sla_policy", "calendar"):
        op.drop_column("teams", column)
