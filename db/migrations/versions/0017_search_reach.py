"""search reach: a message carries its ticket's team, indexed newest first

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

A GIN bitmap cannot stop early: a word in a tenth of a million messages costs a bitmap of
100,000 rows before the first one is ranked, and an agent's team was only met on `tickets`
after that. db/search.py now walks a team's messages newest first and stops at enough
matches, which needs the team on the message row:

- `ticket_messages.team_id`: its ticket's team. Triggers keep it (on insert, from the
  ticket; on a ticket's move, for all its messages) whichever code writes the rows. It only
  picks the rows to look at; the ticket's own team still decides what an agent may see.
- `ix_ticket_messages_team_newest` (team_id, created_at): the walk.
- `ticket_messages_match_share(tsquery)`: the planner's estimate of the share of messages a
  query matches, so that only a common word is walked (a rare one goes to the index).

Evaluated and not done: a tsvector of adjacent word pairs ('payment fail') so that a phrase
is one lexeme. At 1,000,000 seeded messages the pair occurs in exactly the 125,325 messages
that hold both words, so it narrows nothing there, and it made the GIN index 5 times larger.

On a large table: the backfill is one UPDATE of every message (84 s for 1,000,000 on two busy
cores; it writes a new version of each row, so the table doubles until VACUUM), then the
index build (6 s). Run it off-peak; message writes wait on the UPDATE's row locks.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# The planner's estimate of the share of messages matching a query (from the column's
# most common lexemes), so that a search walks newest rows only for a common word. VOLATILE:
# PostgreSQL allows EXPLAIN in no other function.
MATCH_SHARE = """
CREATE FUNCTION ticket_messages_match_share(query tsquery) RETURNS double precision
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  plan json;
  total double precision;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM ticket_messages WHERE search_tsv @@ $1'
    INTO plan USING query;
  SELECT reltuples INTO total FROM pg_class WHERE oid = 'ticket_messages'::regclass;
  RETURN (plan->0->'Plan'->>'Plan Rows')::double precision / greatest(total, 1);
END $$;
"""
TEAM_ON_INSERT = """
CREATE FUNCTION ticket_messages_take_team() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.team_id := (SELECT team_id FROM tickets WHERE id = NEW.ticket_id);
  RETURN NEW;
END $$;
CREATE TRIGGER ticket_messages_take_team BEFORE INSERT ON ticket_messages
  FOR EACH ROW EXECUTE FUNCTION ticket_messages_take_team();
"""
TEAM_ON_MOVE = """
CREATE FUNCTION tickets_move_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ticket_messages SET team_id = NEW.team_id WHERE ticket_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER tickets_move_messages AFTER UPDATE OF team_id ON tickets
  FOR EACH ROW WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id)
  EXECUTE FUNCTION tickets_move_messages();
"""


def upgrade() -> None:
    op.add_column("ticket_messages", sa.Column("team_id", postgresql.UUID(as_uuid=True)))
    op.execute("UPDATE ticket_messages m SET team_id = t.team_id FROM tickets t "
               "WHERE t.id = m.ticket_id AND t.team_id IS NOT NULL")
    op.execute(TEAM_ON_INSERT)
    op.execute(TEAM_ON_MOVE)
    op.execute(MATCH_SHARE)
    op.create_index("ix_ticket_messages_team_newest", "ticket_messages",
                    ["team_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_messages_team_newest", table_name="ticket_messages")
    op.execute("DROP FUNCTION ticket_messages_match_share(tsquery)")
    op.execute("DROP TRIGGER tickets_move_messages ON tickets")
    op.execute("DROP FUNCTION tickets_move_messages()")
    op.execute("DROP TRIGGER ticket_messages_take_team ON ticket_messages")
    op.execute("DROP FUNCTION ticket_messages_take_team()")
    op.drop_column("ticket_messages", "team_id")
