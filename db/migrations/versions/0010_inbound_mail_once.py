"""inbound mail: taken in once per Message-ID, and why a mail was refused

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

- `inbound_emails.reason`: what a `rejected` or `deferred` mail's sender was answered.
- At most one row per Message-ID with an outcome that took the mail in (threaded, new ticket,
  note): two simultaneous deliveries of one mail were both logged as threaded (and counted
  twice in the email report and the metric). Rows logged that way before are relabelled
  `duplicate`, all but the earliest of each Message-ID, before the unique index is built.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"  # unique: main took 0008 and 0009 meanwhile
down_revision = "0009"
branch_labels = None
depends_on = None

# As of this revision (domain.threading.TAKING_OUTCOMES may grow later; this must not).
TAKING = ("'auto_reply_note','bounce_note','new_ticket','new_ticket_flagged',"
          "'threaded_address_tag','threaded_in_reply_to','threaded_references',"
          "'threaded_subject_tag'")


def upgrade() -> None:
    op.add_column("inbound_emails", sa.Column("reason", sa.Text(), nullable=True))
    op.execute(f"""
        UPDATE inbound_emails SET outcome = 'duplicate'
        WHERE id IN (
            SELECT id FROM (
                SELECT id, row_number() OVER (PARTITION BY message_id
                                              ORDER BY received_at, id) AS nth
                FROM inbound_emails
                WHERE message_id IS NOT NULL AND outcome IN ({TAKING})
            ) AS taken
            WHERE nth > 1)
    """)
    op.create_index("uq_inbound_emails_taken", "inbound_emails", ["message_id"], unique=True,
                    postgresql_where=sa.text(f"outcome IN ({TAKING})"))


def downgrade() -> None:
    op.drop_index("uq_inbound_emails_taken", table_name="inbound_emails")
    op.drop_column("inbound_emails", "reason")
