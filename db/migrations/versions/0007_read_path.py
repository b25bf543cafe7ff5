"""read path: queue keys, full-text search, saved views, knowledge base, live events

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21

- tickets get the keys the agent lists sort and filter by without touching sla_targets:
  `due_at` (the next running SLA deadline, 9999-01-01 when none runs, so keyset cursors
  never compare NULLs), `breach_state`, and `priority_rank` (generated from priority).
  Indexes match the queries: my open tickets, the team queue, a customer's tickets, tags.
- full text: a `search_config` (regconfig) per ticket, message and article, chosen at write
  time by language detection with 'simple' as the fallback, and a generated tsvector over it
  with a GIN index.
- saved_views, kb_articles, kb_suggestions (deflection), ticket_events (the live stream's
  log: replayed after Last-Event-ID, announced by NOTIFY).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN = "status IN ('new','assigned','in_progress','waiting_on_customer','reopened')"
PRIORITY_RANK = ("CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'low' THEN 3 "
                 "ELSE 2 END")
BOARD_COLUMNS = ["assignee_id", "breach_state", "priority", "channel", "tags", "customer_email",
                 "created_at", "updated_at"]
# tsvector holds at most 1 MB: a long mail is indexed by its first 200,000 characters.
MESSAGE_TSV = "to_tsvector(search_config, left(body, 200000))"
SUBJECT_TSV = "to_tsvector(search_config, subject)"
ARTICLE_TSV = ("setweight(to_tsvector(search_config, title), 'A') || "
               "setweight(to_tsvector(search_config, left(body, 200000)), 'B')")


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def _config() -> sa.Column:
    return sa.Column("search_config", postgresql.REGCONFIG(), nullable=False,
                     server_default=sa.text("'simple'::regconfig"))


def _tsv(expression: str) -> sa.Column:
    return sa.Column("search_tsv", postgresql.TSVECTOR(),
                     sa.Computed(expression, persisted=True), nullable=True)


def upgrade() -> None:
    _ticket_keys()
    _search_columns()
    _saved_views()
    _knowledge_base()
    _ticket_events()


def _ticket_keys() -> None:
    op.add_column("tickets", sa.Column(
        "due_at", sa.DateTime(timezone=True), nullable=False,
        server_default=sa.text("'9999-01-01 00:00:00+00'::timestamptz")))
    op.add_column("tickets", sa.Column("breach_state", sa.String(16), nullable=False,
                                       server_default="ok"))
    op.add_column("tickets", sa.Column("priority_rank", sa.SmallInteger(),
                                       sa.Computed(PRIORITY_RANK, persisted=True),
                                       nullable=True))
    op.execute("""
        UPDATE tickets t SET breach_state = s.breach_state,
            due_at = CASE WHEN s.paused_at IS NULL THEN COALESCE(LEAST(
                CASE WHEN s.first_response_at IS NULL THEN s.first_response_due END,
                s.next_reply_due,
                CASE WHEN s.resolved_at IS NULL THEN s.resolution_due END), '9999-01-01Z')
              ELSE '9999-01-01Z' END
        FROM sla_targets s WHERE s.ticket_id = t.id
    """)
    op.drop_index("ix_tickets_assignee_open", table_name="tickets")
    op.create_index("ix_tickets_assignee_open", "tickets", ["assignee_id", "updated_at", "id"],
                    postgresql_where=sa.text(OPEN))
    op.create_index("ix_tickets_team_queue", "tickets",
                    ["team_id", "due_at", "priority_rank", "created_at", "id"],
                    postgresql_where=sa.text(f"assignee_id IS NULL AND {OPEN}"))
    op.create_index("ix_tickets_team_updated", "tickets", ["team_id", "updated_at", "id"])
    # Dashboard and view counts: an index-only scan of a team's open tickets (the heap
    # visits of a bitmap scan were 90% of a dashboard's time at 150,000 open tickets).
    op.create_index("ix_tickets_team_board", "tickets", ["team_id", "status"],
                    postgresql_include=BOARD_COLUMNS, postgresql_where=sa.text(OPEN))
    op.drop_index("ix_tickets_customer_email", table_name="tickets")
    op.create_index("ix_tickets_customer_email", "tickets",
                    ["customer_email", "updated_at", "id"])
    op.create_index("ix_tickets_tags", "tickets", ["tags"], postgresql_using="gin")


def _search_columns() -> None:
    for table, expression in (("tickets", SUBJECT_TSV), ("ticket_messages", MESSAGE_TSV)):
        op.add_column(table, _config())
        op.add_column(table, _tsv(expression))
        op.create_index(f"ix_{table}_search", table, ["search_tsv"], postgresql_using="gin")
    # Mail delivery states for /metrics, without reading every message ever stored.
    op.create_index("ix_ticket_messages_delivery", "ticket_messages", ["delivery_status"],
                    postgresql_where=sa.text("delivery_status IS NOT NULL"))


def _saved_views() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        # The agent who made it; NULL for views an admin token made for everyone.
        sa.Column("owner_id", sa.UUID(), sa.ForeignKey("agents.id"), nullable=True),
        # private (owner only), team (members of team_id), everyone (all staff)
        sa.Column("sharing", sa.String(16), server_default="private", nullable=False),
        sa.Column("team_id", sa.UUID(), sa.ForeignKey("teams.id"), nullable=True),
        sa.Column("filters", postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("sort", sa.String(16), server_default="updated", nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("sharing IN ('private','team','everyone')",
                           name="ck_saved_views_sharing"),
    )
    op.create_index("ix_saved_views_owner", "saved_views", ["owner_id"])


def _knowledge_base() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("published", sa.Boolean(), server_default=sa.false(), nullable=False),
        _config(),
        _tsv(ARTICLE_TSV),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kb_articles_search", "kb_articles", ["search_tsv"],
                    postgresql_using="gin", postgresql_where=sa.text("published"))
    op.create_table(
        "kb_suggestions",
        sa.Column("id", sa.UUID(), nullable=False),
        _now("created_at"),
        sa.Column("customer_email", sa.String(320), nullable=True),
        sa.Column("article_ids", postgresql.ARRAY(sa.UUID()), server_default="{}",
                  nullable=False),
        # Set when the customer opened a ticket after all: the suggestion did not deflect it.
        sa.Column("ticket_id", sa.UUID(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kb_suggestions_created_at", "kb_suggestions", ["created_at"])


def _ticket_events() -> None:
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        # The teams and assignees before and after: who must hear of it.
        sa.Column("team_ids", postgresql.ARRAY(sa.UUID()), server_default="{}", nullable=False),
        sa.Column("assignee_ids", postgresql.ARRAY(sa.UUID()), server_default="{}",
                  nullable=False),
        # False when only staff may see it (an internal note, an assignment).
        sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ticket_events_ticket", "ticket_events", ["ticket_id", "id"])
    op.create_index("ix_ticket_events_created_at", "ticket_events", ["created_at"])


def downgrade() -> None:
    op.drop_table("ticket_events")
    op.drop_table("kb_suggestions")
    op.drop_table("kb_articles")
    op.drop_table("saved_views")
    op.drop_index("ix_ticket_messages_delivery", table_name="ticket_messages")
    for table in ("ticket_messages", "tickets"):
        op.drop_index(f"ix_{table}_search", table_name=table)
        op.drop_column(table, "search_tsv")
        op.drop_column(table, "search_config")
    op.drop_index("ix_tickets_tags", table_name="tickets")
    op.drop_index("ix_tickets_customer_email", table_name="tickets")
    op.create_index("ix_tickets_customer_email", "tickets", ["customer_email"])
    op.drop_index("ix_tickets_team_board", table_name="tickets")
    op.drop_index("ix_tickets_team_updated", table_name="tickets")
    op.drop_index("ix_tickets_team_queue", table_name="tickets")
    op.drop_index("ix_tickets_assignee_open", table_name="tickets")
    op.create_index("ix_tickets_assignee_open", "tickets", ["assignee_id", "updated_at"],
                    postgresql_where=sa.text(OPEN))
    for column in ("priority_rank", "breach_state", "due_at"):
        op.drop_column("tickets", column)
