"""The Alembic migrations: reversible, equal to db/models.py, and carrying the hot-path indexes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection

from db.migrate import downgrade, upgrade
from db.models import Base
from domain.lifecycle import OPEN
from settings import to_sqlalchemy_url


@pytest.fixture
def sync_conn(database_url: str) -> Iterator[Connection]:
    engine = create_engine(to_sqlalchemy_url(database_url))
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(to_sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trip(empty_database_url):
    upgrade(empty_database_url)
    assert set(Base.metadata.tables) <= table_names(empty_database_url)

    downgrade(empty_database_url, "base")
    assert table_names(empty_database_url) <= {"alembic_version"}

    upgrade(empty_database_url)  # fails if the downgrade left anything (e.g. the sequence) behind
    assert set(Base.metadata.tables) <= table_names(empty_database_url)


def test_migrated_schema_matches_the_models(sync_conn):
    context = MigrationContext.configure(
        sync_conn, opts={"compare_type": True, "compare_server_default": True})

    assert compare_metadata(context, Base.metadata) == []


def index_definitions(conn: Connection, table: str) -> dict[str, str]:
    found = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"),
                         {"t": table})
    return dict(found.all())


def test_indexes_for_my_open_tickets_team_queue_and_message_id_lookup_exist(sync_conn):
    tickets = index_definitions(sync_conn, "tickets")
    messages = index_definitions(sync_conn, "ticket_messages")

    assert "(assignee_id, updated_at, id) WHERE" in tickets["ix_tickets_assignee_open"]
    assert ("(team_id, due_at, priority_rank, created_at, id) WHERE ((assignee_id IS NULL)"
            in tickets["ix_tickets_team_queue"])
    assert "(team_id, status, created_at) WHERE" in tickets["ix_tickets_team_open"]
    for status in OPEN:
        assert f"'{status.value}'" in tickets["ix_tickets_assignee_open"]
        assert f"'{status.value}'" in tickets["ix_tickets_team_open"]
    by_message_id = [d for d in messages.values() if d.endswith("(message_id)")]
    assert by_message_id and all("UNIQUE INDEX" in d for d in by_message_id)


def test_open_tickets_of_an_assignee_use_the_partial_index(sync_conn):
    open_statuses = ", ".join(f"'{s.value}'" for s in sorted(OPEN))
    sync_conn.execute(text("SET enable_seqscan = off"))

    plan = "\n".join(sync_conn.execute(text(
        "EXPLAIN SELECT id FROM tickets "
        f"WHERE assignee_id = '{uuid.uuid4()}' AND status IN ({open_statuses}) "
        "ORDER BY updated_at DESC LIMIT 50"
    )).scalars())

    assert "ix_tickets_assignee_open" in plan, plan


def test_0009_backfills_what_customers_see_from_messages_and_audit(empty_database_url):
    upgrade(empty_database_url, "0007")
    ticket = uuid.uuid4()
    engine = create_engine(to_sqlalchemy_url(empty_database_url))
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO tickets (id, public_ref, subject, status, priority, channel, "
            "customer_email, created_at, updated_at, version) VALUES (:id, 'TKT-1', 'Hi', "
            "'assigned', 'medium', 'email', 'ada@example.com', '2026-01-01T09:00Z', "
            "'2026-01-01T12:00Z', 5)"), {"id": ticket})
        for seq, visibility, at in ((1, "public", "09:00"), (2, "internal", "09:30"),
                                    (3, "public", "10:00"), (4, "internal", "12:00")):
            conn.execute(text(
                "INSERT INTO ticket_messages (id, ticket_id, seq, message_id, direction, "
                "visibility, author_type, body, created_at) VALUES (:id, :t, :seq, :mid, "
                "'inbound', :v, 'customer', 'x', :at)"),
                {"id": uuid.uuid4(), "t": ticket, "seq": seq, "mid": f"<{uuid.uuid4()}@x>",
                 "v": visibility, "at": f"2026-01-01T{at}Z"})
        for seq, action, src, dst, at in ((1, "created", None, "new", "09:00"),
                                          (2, "status", "new", "assigned", "11:00"),
                                          (3, "reassigned", "assigned", "assigned", "11:30")):
            conn.execute(text(
                "INSERT INTO ticket_audit (ticket_id, seq, action, from_status, to_status, "
                "actor_type, created_at) VALUES (:t, :seq, :a, :f, :d, 'system', :at)"),
                {"t": ticket, "seq": seq, "a": action, "f": src, "d": dst,
                 "at": f"2026-01-01T{at}Z"})
    engine.dispose()

    upgrade(empty_database_url)

    engine = create_engine(to_sqlalchemy_url(empty_database_url))
    with engine.connect() as conn:
        seen_at = conn.scalar(text("SELECT public_updated_at FROM tickets"))
        numbers = conn.execute(text(
            "SELECT public_seq FROM ticket_messages ORDER BY seq")).scalars().all()
    engine.dispose()
    assert seen_at == datetime(2026, 1, 1, 11, tzinfo=UTC)  # the status change
    assert numbers == [1, None, 2, None]



def test_0017_gives_existing_messages_their_team_and_keeps_it_as_tickets_move(
        empty_database_url):
    upgrade(empty_database_url, "0015")
    ticket, team, other_team = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    insert_message = text(
        "INSERT INTO ticket_messages (id, ticket_id, seq, message_id, direction, visibility, "
        "author_type, body, created_at) VALUES (:id, :t, :seq, :mid, 'inbound', 'public', "
        "'customer', 'Any news?', now())")
    engine = create_engine(to_sqlalchemy_url(empty_database_url))
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO tickets (id, public_ref, subject, status, priority, channel, "
                "customer_email, team_id, created_at, updated_at, public_updated_at, "
                "version) VALUES (:id, 'TKT-1', 'Hi', 'new', 'medium', 'email', "
                "'ada@example.com', :team, now(), now(), now(), 1)"),
                {"id": ticket, "team": team})
            conn.execute(insert_message, {"id": uuid.uuid4(), "t": ticket, "seq": 1,
                                          "mid": "<1@x>"})

        upgrade(empty_database_url)

        with engine.begin() as conn:
            conn.execute(insert_message, {"id": uuid.uuid4(), "t": ticket, "seq": 2,
                                          "mid": "<2@x>"})
            teams = conn.execute(text(
                "SELECT team_id FROM ticket_messages ORDER BY seq")).scalars().all()
            conn.execute(text("UPDATE tickets SET team_id = :team"), {"team": other_team})
            moved = conn.execute(text("SELECT team_id FROM ticket_messages")).scalars().all()
    finally:
        engine.dispose()
    assert teams == [team, team]  # the backfilled one, and one inserted after
    assert moved == [other_team, other_team]
