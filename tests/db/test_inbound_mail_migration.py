"""Migration 0010: mails counted as taken in twice before it are counted once after it, and
PostgreSQL keeps it that way."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from db.migrate import upgrade
from settings import to_sqlalchemy_url

INSERT = ("INSERT INTO inbound_emails (id, message_id, source, outcome, raw) "
          "VALUES (:id, :message_id, 'test', :outcome, '\\x00'::bytea)")


def test_mails_logged_as_taken_in_twice_become_one_and_a_duplicate(empty_database_url):
    upgrade(empty_database_url, "0007")
    engine = create_engine(to_sqlalchemy_url(empty_database_url))
    logged = [("<a@x>", "threaded_in_reply_to"), ("<a@x>", "threaded_in_reply_to"),
              ("<a@x>", "duplicate"), ("<b@x>", "new_ticket"), ("<c@x>", "rejected"),
              ("<c@x>", "rejected"), (None, "new_ticket"), (None, "new_ticket")]
    try:
        with engine.begin() as conn:
            for message_id, outcome in logged:
                conn.execute(text(INSERT), {"id": uuid.uuid4(), "message_id": message_id,
                                            "outcome": outcome})

        upgrade(empty_database_url)

        with engine.connect() as conn:
            counts = conn.execute(text(
                "SELECT message_id, outcome, count(*) FROM inbound_emails "
                "GROUP BY message_id, outcome ORDER BY 1, 2")).all()
        assert [tuple(c) for c in counts] == [
            ("<a@x>", "duplicate", 2), ("<a@x>", "threaded_in_reply_to", 1),
            ("<b@x>", "new_ticket", 1), ("<c@x>", "rejected", 2), (None, "new_ticket", 2)]
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(INSERT), {"id": uuid.uuid4(), "message_id": "<b@x>",
                                        "outcome": "threaded_subject_tag"})
    finally:
        engine.dispose()
